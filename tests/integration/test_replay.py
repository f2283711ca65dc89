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


def _replay(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "visits", "replay", *args], env=stack.env("visits"), capture_output=True, text=True, timeout=180
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
    intake, *_ = await asyncio.gather(stack.start("intake"), stack.start("loans"), stack.start("referrals"))
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
