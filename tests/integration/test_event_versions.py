"""Schema evolution against the real broker and PostgreSQL: a log that holds v1 events
written the old way, followed by v2 events. Live read models, a replay from Kafka and a
replay from the audit ledger are equal; the timeline shows both; the ledger keeps the v1
bytes as they were (auditors' history is never rewritten)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import date

import httpx

from sangsaeng_common.contracts.intake import BusinessStageChangedV1, Stage
from sangsaeng_common.envelope import Envelope
from tests.support import AUDITOR, STAFF, business_body, eventually, url_for

AUDITOR_TOKEN = AUDITOR["Authorization"].removeprefix("Bearer ")
V1, V2 = "sangsaeng.intake.BusinessStageChanged.v1", "sangsaeng.intake.BusinessStageChanged.v2"
WORDS = "사장님(김철수) 건강 문제로 폐업 고민"  # free text that names a person


async def _write_v1_the_old_way(stack, business_id: str, from_stage: Stage, to_stage: Stage, reason: str | None) -> Envelope:
    """What intake did before v2: move the stage and put a v1 event in its outbox, in one
    transaction (the relay publishes it like any other)."""
    envelope = Envelope.wrap(BusinessStageChangedV1(business_id=business_id, from_stage=from_stage, to_stage=to_stage, reason=reason,
                                                    changed_on=date(2025, 5, 2)))
    conn = await stack.db()
    try:
        async with conn.transaction():
            await conn.execute("update intake.businesses set stage = $2, updated_at = now() where id = $1", business_id, to_stage.value)
            await conn.execute(
                """insert into intake.outbox (event_id, topic, key, event_type, headers, payload)
                   values ($1, 'sangsaeng.intake.events', $2, $3, $4::jsonb, $5)""",
                envelope.id, envelope.subject, envelope.type, json.dumps(envelope.headers()), envelope.data,
            )
    finally:
        await conn.close()
    return envelope


def _replay(stack, service: str, *args: str, **env: str) -> dict:
    result = subprocess.run([sys.executable, "-m", service, "replay", *args], env=stack.env(service, **env),
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def _rows(report: dict) -> dict[str, int]:
    return {t["table"]: t["rebuilt_rows"] for t in report["tables"]}


async def test_v1_then_v2_events_read_the_same_live_and_in_every_replay(stack):
    intake, audit = await asyncio.gather(stack.start("intake"), stack.start("audit"))
    ledger_url = url_for(audit, "")
    visits, districts = await asyncio.gather(stack.start("visits", LEDGER_URL=ledger_url), stack.start("districts", LEDGER_URL=ledger_url))
    async with httpx.AsyncClient(timeout=60) as client:
        first, second = [(await client.post(url_for(intake, "/businesses"), json=business_body(dong="제기동"), headers=STAFF)).json()["id"]
                         for _ in range(2)]
        # v1, as the old intake wrote them: one with words, one without.
        old_closing = await _write_v1_the_old_way(stack, first, Stage.operating, Stage.closing, WORDS)
        await _write_v1_the_old_way(stack, second, Stage.operating, Stage.closing, None)
        # then v2, through today's API: the words stay in intake, the event carries the code.
        changed = await client.post(url_for(intake, f"/businesses/{first}/stage"),
                                    json={"stage": "closed", "reason_code": "closure_filed", "reason": "폐업 신고 (김철수)"}, headers=STAFF)
        assert changed.status_code == 200, changed.text
        assert (await client.post(url_for(intake, f"/businesses/{second}/stage"), json={"stage": "operating"}, headers=STAFF)).status_code == 200

        conn = await stack.db()
        try:
            async def caught_up():
                return (await conn.fetchval("select count(*) from visits.business_stage_history") == 4
                        and await conn.fetchval("select count(*) from audit.ledger where topic = 'sangsaeng.intake.events'") == 6
                        and await conn.fetchval("select count(*) from intake.timeline") == 6
                        and await conn.fetchval("select stage from districts.businesses where id = $1", first) == "closed")

            await eventually(caught_up, timeout=90, what="visits, districts, the timeline and the ledger caught up with intake")

            # The ledger keeps the v1 record byte for byte, its type and its words included.
            kept = await conn.fetchrow("select event_type, data_text from audit.ledger where event_id = $1", old_closing.id)
            assert kept["event_type"] == V1 and kept["data_text"].encode() == old_closing.data
            assert json.loads(kept["data_text"])["reason"] == WORDS
            # Per business (one partition each, so in log order): v1 then v2.
            published = await conn.fetch("select subject, event_type, data_text from audit.ledger where event_type like '%BusinessStageChanged%' order by position")
            for business in (first, second):
                assert [r["event_type"] for r in published if r["subject"] == business] == [V1, V2]
            v2 = [json.loads(r["data_text"]) for r in published if r["event_type"] == V2]
            assert all("김철수" not in json.dumps(d, ensure_ascii=False) for d in v2)  # v2 never carries the words
            assert sorted(d["reason_code"] for d in v2) == ["closure_filed", "not_given"]
            # The words of the v2 change stay in intake's own table.
            assert await conn.fetchval("select reason from intake.stage_changes where business_id = $1", first) == "폐업 신고 (김철수)"
            # Handlers saw only v2: the v1 words reached no read model.
            stored = await conn.fetchval("select data::text from intake.timeline where event_id = $1", old_closing.id)
            assert "김철수" not in stored and json.loads(stored)["reason_code"] == "other"
        finally:
            await conn.close()

        # The timeline shows both: the v1 change (as published) and the v2 one.
        timeline = (await client.get(url_for(intake, f"/businesses/{first}/timeline"), headers=AUDITOR)).json()["items"]
        stage_lines = [(item["type"], item["summary"]) for item in timeline if "BusinessStageChanged" in item["type"]]
        assert stage_lines == [(V2, "단계 변경: 폐업 준비 → 폐업 — 폐업 신고"), (V1, "단계 변경: 운영 → 폐업 준비 — 기타 사유")]

    # Live read models == replay from Kafka == replay from the ledger, in every service that reads the stage.
    expected = {
        "visits": {"businesses": 2, "business_stage_history": 4, "dong_business_counts": 1},
        "districts": {"businesses": 2},
        "intake": {"timeline": 6},
    }
    for service, rows in expected.items():
        from_kafka = _replay(stack, service)
        from_ledger = _replay(stack, service, "--source", "ledger", LEDGER_URL=ledger_url, AUDITOR_TOKEN=AUDITOR_TOKEN)
        assert from_kafka["equal"] is True, from_kafka
        assert from_ledger["equal"] is True, from_ledger
        assert from_kafka["events"] == from_ledger["events"]
        assert _rows(from_kafka) == _rows(from_ledger) == rows, service

    # An erasure blanks the words intake kept; the event log holds none of v2's.
    async with httpx.AsyncClient(timeout=60) as client:
        erased = await client.post(url_for(intake, f"/businesses/{first}/erasure"), json={}, headers=STAFF)
        assert erased.status_code in (200, 201), erased.text
        assert erased.json()["stage_reasons_blanked"] == 1
    conn = await stack.db()
    try:
        assert await conn.fetchval("select count(*) from intake.stage_changes where business_id = $1 and reason is not null", first) == 0
        assert await conn.fetchval("select data_text from audit.ledger where event_id = $1", old_closing.id) == old_closing.data.decode()
    finally:
        await conn.close()
