"""Replay: a service rebuilds its read models from the log and finds them equal to the
live ones, or names the difference; and it shows a business as it was at a given time."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime

import httpx

from tests.support import AUDITOR, STAFF, business_body, eventually, url_for

AUDITOR_TOKEN = AUDITOR["Authorization"].removeprefix("Bearer ")


def _replay(stack, *args: str, service: str = "visits", **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", service, "replay", *args], env=stack.env(service, **env), capture_output=True, text=True, timeout=180
    )


async def test_rebuilt_read_models_equal_the_live_ones_and_a_divergence_is_named(stack):
    intake, visits = await asyncio.gather(stack.start("intake"), stack.start("visits"))
    async with httpx.AsyncClient(timeout=30) as client:
        ids = [(await client.post(url_for(intake, "/businesses"), json=business_body(dong=d), headers=STAFF)).json()["id"]
               for d in ("제기동", "제기동", "회기동", "이문1동")]
        for stage in ("closing", "closed"):
            assert (await client.post(url_for(intake, f"/businesses/{ids[0]}/stage"), json={"stage": stage}, headers=STAFF)).status_code == 200
        between = datetime.now(UTC)
        await asyncio.sleep(0.05)
        assert (await client.post(url_for(intake, f"/businesses/{ids[0]}/stage"), json={"stage": "restarting"}, headers=STAFF)).status_code == 200

        conn = await stack.db()
        try:
            async def applied():
                return await conn.fetchval("select count(*) from visits.business_stage_history") == 3

            await eventually(applied, what="every stage change in visits")
        finally:
            await conn.close()

        result = _replay(stack)
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["equal"] is True and report["events"] == 7
        assert {t["table"]: t["rebuilt_rows"] for t in report["tables"]} == {"businesses": 4, "business_stage_history": 3, "dong_business_counts": 3}
        assert "events/s" in result.stderr

        # The admin endpoint gives auditors the same, over HTTP.
        over_http = await client.post(url_for(visits, "/admin/replay"), headers=AUDITOR)
        assert over_http.status_code == 200 and over_http.json()["equal"] is True
        assert (await client.post(url_for(visits, "/admin/replay"), headers=STAFF)).status_code == 403

    # A live read model that drifted from the log is caught, row and column named.
    conn = await stack.db()
    try:
        await conn.execute("update visits.dong_business_counts set businesses = 5 where dong = '회기동'")
    finally:
        await conn.close()
    drifted = _replay(stack)
    assert drifted.returncode == 1
    table = {t["table"]: t for t in json.loads(drifted.stdout)["tables"]}["dong_business_counts"]
    assert table["different"] == [{"key": {"dong": "회기동"}, "columns": {"businesses": {"live": 5, "rebuilt": 1}}}]

    # Time travel: the business as it was before it restarted.
    past = _replay(stack, "--subject", ids[0], "--until", between.isoformat())
    assert past.returncode == 0, past.stderr
    tables = {t["table"]: t for t in json.loads(past.stdout)["tables"]}
    assert tables["business_stage_history"]["rebuilt_rows"] == 2
    assert tables["businesses"]["different"][0]["columns"]["stage"] == {"live": "restarting", "rebuilt": "closed"}


async def test_every_service_with_read_models_rebuilds_them_equal(stack):
    intake, _, _, districts = await asyncio.gather(stack.start("intake"), stack.start("loans"), stack.start("referrals"),
                                                   stack.start("districts"))
    async with httpx.AsyncClient(timeout=30) as client:
        ids = [(await client.post(url_for(intake, "/businesses"), json=business_body(), headers=STAFF)).json()["id"] for _ in range(3)]
        consent = await client.post(url_for(intake, f"/businesses/{ids[0]}/consents"), json={"agencies": ["SEMAS", "KBIZ"]}, headers=STAFF)
        assert consent.status_code == 201, consent.text
        await client.post(url_for(intake, f"/businesses/{ids[1]}/stage"), json={"stage": "closing"}, headers=STAFF)

    conn = await stack.db()
    try:
        async def caught_up():
            return (
                await conn.fetchval("select count(*) from loans.businesses") == 3
                and await conn.fetchval("select count(*) from referrals.consents") == 2
                and await conn.fetchval("select stage from referrals.businesses where id = $1", ids[1]) == "closing"
                and await conn.fetchval("select stage from districts.businesses where id = $1", ids[1]) == "closing"
            )

        await eventually(caught_up, timeout=60, what="loans and referrals caught up with intake")
    finally:
        await conn.close()

    for service, tables in (("loans", {"businesses": 3}), ("referrals", {"businesses": 3, "consents": 2})):
        result = subprocess.run(
            [sys.executable, "-m", service, "replay"], env=stack.env(service), capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["equal"] is True, report
        assert {t["table"]: t["rebuilt_rows"] for t in report["tables"]} == tables

    # districts over its admin endpoint (what the audit tool calls): equal to live.
    async with httpx.AsyncClient(timeout=60) as client:
        over_http = await client.post(url_for(districts, "/admin/replay"), headers=AUDITOR)
        assert over_http.status_code == 200, over_http.text
        assert over_http.json()["equal"] is True
        assert {t["table"]: t["rebuilt_rows"] for t in over_http.json()["tables"]} == {"businesses": 3}


async def test_a_replay_from_the_audit_ledger_equals_the_live_read_models_and_the_kafka_replay(stack):
    intake, audit = await asyncio.gather(stack.start("intake"), stack.start("audit"))
    ledger_url = url_for(audit, "")
    visits = await stack.start("visits", LEDGER_URL=ledger_url)
    async with httpx.AsyncClient(timeout=60) as client:
        ids = [(await client.post(url_for(intake, "/businesses"), json=business_body(dong=d), headers=STAFF)).json()["id"]
               for d in ("제기동", "회기동", "회기동")]
        for stage in ("closing", "closed"):
            assert (await client.post(url_for(intake, f"/businesses/{ids[1]}/stage"), json={"stage": stage}, headers=STAFF)).status_code == 200

        conn = await stack.db()
        try:
            async def caught_up():
                return (await conn.fetchval("select count(*) from visits.business_stage_history") == 2
                        and await conn.fetchval("select count(*) from audit.ledger") == 5)

            await eventually(caught_up, timeout=60, what="visits and the ledger caught up with intake")
        finally:
            await conn.close()

        # The ledger's HTTP export is for auditors only.
        assert (await client.get(url_for(audit, "/events"), headers=STAFF)).status_code == 403
        exported = await client.get(url_for(audit, "/events"), params={"topic": "sangsaeng.intake.events"}, headers=AUDITOR)
        assert exported.headers["Event-Count"] == "5" and len(exported.text.splitlines()) == 5

        from_kafka = _replay(stack)
        from_ledger = _replay(stack, "--source", "ledger", LEDGER_URL=ledger_url, AUDITOR_TOKEN=AUDITOR_TOKEN)
        assert from_kafka.returncode == 0, from_kafka.stdout + from_kafka.stderr
        assert from_ledger.returncode == 0, from_ledger.stdout + from_ledger.stderr
        kafka_report, ledger_report = json.loads(from_kafka.stdout), json.loads(from_ledger.stdout)
        assert ledger_report["equal"] is True and ledger_report["events"] == kafka_report["events"] == 5
        rows = {"businesses": 3, "business_stage_history": 2, "dong_business_counts": 2}
        assert {t["table"]: t["rebuilt_rows"] for t in ledger_report["tables"]} == rows
        assert {t["table"]: t["rebuilt_rows"] for t in kafka_report["tables"]} == rows
        assert "events/s" in from_ledger.stderr and "from ledger" in from_ledger.stderr

        # Without an auditor's token the ledger stays closed, and the replay says so.
        refused = _replay(stack, "--source", "ledger", LEDGER_URL=ledger_url, AUDITOR_TOKEN=STAFF["Authorization"].removeprefix("Bearer "))
        assert refused.returncode == 2 and "403" in refused.stderr

        # Over the admin endpoint, the service reads the ledger with the caller's own token.
        over_http = await client.post(url_for(visits, "/admin/replay"), params={"source": "ledger"}, headers=AUDITOR)
        assert over_http.status_code == 200, over_http.text
        assert over_http.json()["equal"] is True and over_http.json()["events"] == 5

    # The audit tool asks the service (it never imports it), from either source.
    for source in ("ledger", "kafka"):
        asked = subprocess.run(
            [sys.executable, "-m", "audit", "replay", "--service", "visits", "--source", source],
            env=stack.env("audit", AUDIT_SERVICE_URLS=json.dumps({"visits": url_for(visits, "")}), AUDITOR_TOKEN=AUDITOR_TOKEN),
            capture_output=True, text=True, timeout=180,
        )
        assert asked.returncode == 0, asked.stdout + asked.stderr
        assert json.loads(asked.stdout)["visits"]["events"] == 5 and "events/s" in asked.stderr
