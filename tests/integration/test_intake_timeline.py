"""The business timeline (every service's events about a business, newest first) and the
erasure of an owner's personal data, against the real servers."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import httpx

from sangsaeng_common.contracts import Event
from sangsaeng_common.contracts.visits import VisitCancelled, VisitCancelledV1, VisitRecorded, VisitScheduled
from sangsaeng_common.envelope import Envelope, new_event_id
from sangsaeng_common.kafka import ensure_topics
from tests.support import AUDITOR, STAFF, HeadersOf, Publisher, business_body, eventually, headers_for, headers_of, read_topic, url_for

VISITS_TOPIC = "sangsaeng.visits.events"
AGENCY = HeadersOf("G-SEMAS")
OWNER = {"name": "김바른", "relation": "owner", "phone": "010-2345-6789", "email": "barun@example.kr"}
PERSONAL = ["김바른", "010-2345-6789", "barun@example.kr", "연락은 김바른 대표", "대표 김바른 통화"]


async def _register(client: httpx.AsyncClient, intake, **changes) -> dict:
    response = await client.post(url_for(intake, "/businesses"), json=business_body(**changes), headers=STAFF)
    assert response.status_code == 201, response.text
    return response.json()


async def _publish(stack, *envelopes: Envelope) -> None:
    """What visits' relay would do: its CloudEvents on its own topic, keyed by business."""
    await ensure_topics(stack.bootstrap_servers, {VISITS_TOPIC: 4})
    async with Publisher(stack.bootstrap_servers) as publisher:
        for envelope in envelopes:
            await publisher.publish_envelope(envelope, VISITS_TOPIC)


async def _publish_raw(stack, value: bytes) -> None:
    async with Publisher(stack.bootstrap_servers) as publisher:
        await publisher.publish_raw(VISITS_TOPIC, value, key=b"garbage")


def _at(event: Event, when: datetime) -> Envelope:
    return dataclasses.replace(Envelope.wrap(event), time=when)


def _unknown_with_reason(business_id: str, n: int, reason: str, when: datetime) -> Envelope:
    """An event of a type this build has no contract for, with words in it (the timeline keeps it whole)."""
    data = {"visit_id": str(UUID(int=n)), "business_id": business_id, "reason": reason}
    return Envelope(id=new_event_id(), source="/sangsaeng/visits", type="sangsaeng.visits.VisitPostponed.v1", subject=business_id,
                    time=when, data=json.dumps(data, ensure_ascii=False).encode(), correlation_id=str(n))


async def _keep_as_before_v2(stack, business_id: str, when: datetime, v1_data: dict) -> None:
    """A timeline entry as intake kept it before BusinessStageChanged.v2: v1's data, words and all."""
    summary = f"단계 변경: 예비창업 → 운영 — {v1_data['reason']}"
    conn = await stack.db()
    try:
        await conn.execute(
            """insert into intake.timeline (event_id, business_id, event_type, source, occurred_at, summary, data)
               values ($1, $2, 'sangsaeng.intake.BusinessStageChanged.v1', '/sangsaeng/intake', $3, $4, $5::jsonb)""",
            new_event_id(), UUID(business_id), when, summary, json.dumps(v1_data, ensure_ascii=False),
        )
    finally:
        await conn.close()


async def _timeline(client: httpx.AsyncClient, intake, business_id: str, count: int, **params) -> list[dict]:
    async def enough():
        response = await client.get(url_for(intake, f"/businesses/{business_id}/timeline"), params=params, headers=AUDITOR)
        items = response.json()["items"]
        return items if len(items) >= count else None

    items = await eventually(enough, timeout=90, what=f"{count} timeline entries")
    assert len(items) == count, [i["summary"] for i in items]
    return items


async def test_the_timeline_shows_every_services_events_about_a_business_newest_first(stack):
    intake = await stack.start("intake")
    async with httpx.AsyncClient(timeout=15) as client:
        business = await _register(client, intake, name="동대문 바른분식")
        other = await _register(client, intake, name="다른 가게")
        bid = business["id"]
        stage = await client.post(url_for(intake, f"/businesses/{bid}/stage"), json={"stage": "closing", "reason_code": "rent_burden", "reason": "임대료 인상"},
                                  headers=STAFF)
        assert stage.status_code == 200
        request = await client.post(
            url_for(intake, "/support-requests"),
            json={"business_id": bid, "needs": ["closure_support", "consulting"], "channel": "phone", "note": "연락은 김바른 대표"},
            headers=STAFF,
        )
        assert request.status_code == 201
        await _timeline(client, intake, bid, 3)

        # visits starts publishing later: its topic appears after the consumer subscribed.
        visit_id = UUID("0197a0c8-5555-7abc-8def-000000000005")
        scheduled = Envelope.wrap(VisitScheduled(visit_id=visit_id, business_id=bid, planner_id="planner-07", dong="제기동", scheduled_for=date(2025, 5, 12)))
        recorded = Envelope.wrap(VisitRecorded(
            visit_id=visit_id, business_id=bid, planner_id="planner-07", dong="제기동", visited_on=date(2025, 5, 12),
            outcome="met", stage_observed="closing", needs_identified=["loan"],
        ))
        elsewhere = Envelope.wrap(VisitScheduled(visit_id=visit_id, business_id=other["id"], planner_id="planner-07", dong="제기동", scheduled_for=date(2025, 5, 13)))
        # A type this build has no contract for still reaches the timeline; garbage goes to the DLQ.
        unknown = dataclasses.replace(scheduled, id=UUID("0197a0c8-6666-7abc-8def-000000000006"), type="sangsaeng.visits.PlannerOnLeave.v1")
        await _publish(stack, scheduled, unknown, recorded, recorded, elsewhere)  # `recorded` delivered twice
        await _publish_raw(stack, b"\x00 not an event")

        items = await _timeline(client, intake, bid, 6)
        assert [i["summary"] for i in items] == [
            "방문 기록: 2025-05-12 면담, 필요: 융자",
            "방문 예정: 2025-05-12 (플래너 planner-07)",
            "PlannerOnLeave (visits)",
            "지원 요청 (전화): 폐업 지원, 컨설팅",
            "단계 변경: 운영 → 폐업 준비 — 임대료 부담",
            "사업체 등록: 동대문 바른분식 (제기동, 음식점업, 운영)",
        ]
        assert [i["source"] for i in items] == ["/sangsaeng/visits"] * 3 + ["/sangsaeng/intake"] * 3
        assert items[2]["type"] == "sangsaeng.visits.PlannerOnLeave.v1" and items[2]["event_id"] == str(unknown.id)
        assert items[0]["type"] == "sangsaeng.visits.VisitRecorded.v2" and items[0]["event_id"] == str(recorded.id)
        assert items[0]["data"]["stage_observed"] == "closing" and items[0]["data"]["business_id"] == bid
        assert items[3]["data"] == {
            "request_id": request.json()["id"], "business_id": bid, "needs": ["closure_support", "consulting"],
            "channel": "phone", "requested_on": date.today().isoformat(),
        }
        times = [datetime.fromisoformat(i["time"]) for i in items]
        assert times == sorted(times, reverse=True)

        url = url_for(intake, f"/businesses/{bid}/timeline")
        pages, cursor = [], None
        while True:
            page = (await client.get(url, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=STAFF)).json()
            pages.append([i["event_id"] for i in page["items"]])
            if (cursor := page["next"]) is None:
                break
        assert [len(p) for p in pages] == [2, 2, 2] and sum(pages, []) == [i["event_id"] for i in items]

        assert len(await _timeline(client, intake, other["id"], 2)) == 2
        missing = await client.get(url_for(intake, "/businesses/00000000-0000-7000-8000-000000000000/timeline"), headers=STAFF)
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert (await client.get(url, headers=AGENCY)).status_code == 403
        assert (await client.get(url, params={"cursor": "x"}, headers=STAFF)).status_code == 422

    dead = await eventually(lambda: read_topic(stack.bootstrap_servers, "sangsaeng.intake-timeline.dlq"), what="the garbage in the DLQ")
    assert [(r.value, headers_of(r)["dlq_reason"], headers_of(r)["dlq_origin_topic"]) for r in dead] == [
        (b"\x00 not an event", "missing_headers", VISITS_TOPIC)
    ]
    conn = await stack.db()
    try:  # the inbox absorbed the repeated delivery
        assert await conn.fetchval("select count(*) from intake.inbox where consumer = 'intake-timeline'") == 8
    finally:
        await conn.close()


async def test_erasure_removes_the_owners_personal_data_everywhere_in_intake_and_tells_the_others(stack):
    intake = await stack.start("intake")
    async with httpx.AsyncClient(timeout=15) as client:
        business = await _register(client, intake)
        bid = business["id"]
        base = f"/businesses/{bid}"
        owner = await client.post(url_for(intake, f"{base}/owners"), json=OWNER, headers={**STAFF, "Idempotency-Key": "owner-1"})
        assert owner.status_code == 201
        consent = await client.post(
            url_for(intake, f"{base}/consents"),
            json={"agencies": ["SEOUL_CREDIT_GUARANTEE"], "owner_id": owner.json()["id"], "signed_by": "김바른", "note": "대표 김바른 통화"},
            headers={**STAFF, "Idempotency-Key": "consent-1"},
        )
        assert consent.status_code == 201
        request = await client.post(
            url_for(intake, "/support-requests"),
            json={"business_id": bid, "needs": ["loan"], "channel": "walk_in", "note": "연락은 김바른 대표"},
            headers={**STAFF, "Idempotency-Key": "support-1"},
        )
        assert request.status_code == 201
        stage = await client.post(url_for(intake, f"{base}/stage"), json={"stage": "closing", "reason": "대표 김바른 건강 문제"}, headers=STAFF)
        assert stage.status_code == 200
        before = datetime.now(UTC) - timedelta(minutes=1)
        # An old visits (v1) wrote its words into the event: the timeline keeps it upcast, without them.
        cancelled_early = VisitCancelledV1(visit_id=UUID(int=1), business_id=bid, reason="대표 김바른 입원")
        await _publish(stack, _at(cancelled_early, before))
        await _timeline(client, intake, bid, 5)
        # An entry the timeline kept before v2 existed holds the words of a v1 event.
        await _keep_as_before_v2(stack, bid, before - timedelta(minutes=1), {
            "business_id": bid, "from_stage": "prospective", "to_stage": "operating", "reason": "대표 김바른 개업", "changed_on": "2025-01-02"})

        assert (await client.post(url_for(intake, f"{base}/erasure"), json={}, headers=headers_for("P-2001"))).status_code == 403
        erased = await client.post(url_for(intake, f"{base}/erasure"), json={"requested_on": date.today().isoformat()}, headers=STAFF)
        assert erased.status_code == 200, erased.text
        result = erased.json()
        assert {k: result[k] for k in ("owners_deleted", "consents_anonymised", "support_notes_blanked", "stage_reasons_blanked",
                                       "timeline_entries_scrubbed")} == {
            "owners_deleted": 1, "consents_anonymised": 1, "support_notes_blanked": 1, "stage_reasons_blanked": 1, "timeline_entries_scrubbed": 1,
        }
        erased_at = datetime.fromisoformat(result["erased_at"])

        # Delivered after the erasure, of a type this build does not know (kept whole, words and all):
        # one that happened before the erasure (blanked), one after (kept).
        late = _unknown_with_reason(bid, 2, "대표 연락 두절", erased_at - timedelta(seconds=5))
        after = _unknown_with_reason(bid, 3, "재방문 예정", erased_at + timedelta(seconds=5))
        cancelled_after = _at(VisitCancelled(visit_id=UUID(int=4), business_id=bid, reason_code="owner_request"), erased_at + timedelta(seconds=6))
        await _publish(stack, late, after, cancelled_after)

        assert (await client.get(url_for(intake, f"{base}/owners"), headers=STAFF)).json() == []
        consents = (await client.get(url_for(intake, f"{base}/consents"), headers=STAFF)).json()["items"]
        assert [(c["id"], c["agencies"], c["given_at"], c["owner_id"], c["signed_by"], c["note"]) for c in consents] == [
            (consent.json()["id"], ["SEOUL_CREDIT_GUARANTEE"], consent.json()["given_at"], None, None, None)
        ]
        kept = (await client.get(url_for(intake, f"/support-requests/{request.json()['id']}"), headers=STAFF)).json()
        assert (kept["needs"], kept["note"]) == (["loan"], None)
        assert (await client.get(url_for(intake, base), headers=STAFF)).json()["erased_at"] == result["erased_at"]

        items = await _timeline(client, intake, bid, 10)
        by_type = {}
        for item in items:
            by_type.setdefault(item["type"].split(".")[2], []).append(item)
        assert items[0]["summary"] == "방문 취소 — 대표자 요청"
        assert sorted(i["summary"] for i in by_type["VisitCancelled"]) == ["방문 취소 — 기타 사유", "방문 취소 — 대표자 요청"]
        assert sorted((i["data"]["visit_id"][-1], i["data"]["reason"]) for i in by_type["VisitPostponed"]) == [("2", None), ("3", "재방문 예정")]
        stages = {i["type"]: i for i in by_type["BusinessStageChanged"]}
        assert stages["sangsaeng.intake.BusinessStageChanged.v2"]["summary"] == "단계 변경: 운영 → 폐업 준비 — 기타 사유"
        assert "reason" not in stages["sangsaeng.intake.BusinessStageChanged.v2"]["data"]
        assert stages["sangsaeng.intake.BusinessStageChanged.v1"]["summary"] == "단계 변경: 예비창업 → 운영"  # kept before v2: blanked
        assert stages["sangsaeng.intake.BusinessStageChanged.v1"]["data"]["reason"] is None
        assert by_type["BusinessErased"][0]["data"] == {"business_id": bid, "erased_at": result["erased_at"]}

        # A repeated POST with an old key does not hand back the erased data.
        replay = await client.post(url_for(intake, f"{base}/owners"), json=OWNER, headers={**STAFF, "Idempotency-Key": "owner-1"})
        assert replay.json()["id"] != owner.json()["id"]
        await client.post(url_for(intake, f"{base}/erasure"), json={}, headers=STAFF)

    async def all_published():  # the relay publishes after the last POST answered
        records = await read_topic(stack.bootstrap_servers, "sangsaeng.intake.events")
        return records if len(records) >= 6 else None

    records = await eventually(all_published, what="six intake events on the topic")
    types = [headers_of(r)["ce_type"].split(".")[2] for r in records]
    assert sorted(types) == sorted(["BusinessRegistered", "ConsentGiven", "SupportRequested", "BusinessStageChanged", "BusinessErased", "BusinessErased"])
    erasure_event = next(json.loads(r.value) for r in records if headers_of(r)["ce_type"].endswith("BusinessErased.v1"))
    assert erasure_event == {"business_id": bid, "erased_at": result["erased_at"]}
    for record in records:
        raw = record.value + b"".join(v for _, v in record.headers)
        assert not [p for p in PERSONAL if p.encode() in raw], headers_of(record)["ce_type"]

    conn = await stack.db()
    try:
        tables = [r["table_name"] for r in await conn.fetch("select table_name from information_schema.tables where table_schema = 'intake'")]
        assert {"owners", "consents", "support_requests", "timeline", "idempotency_keys", "erasures"} <= set(tables)
        for table in tables:
            rows = await conn.fetch(f"select t::text as row from intake.{table} t")
            leaked = [(table, p) for r in rows for p in PERSONAL if p in r["row"]]
            assert not leaked
        assert await conn.fetchval("select count(*) from intake.erasures where business_id = $1", UUID(bid)) == 2
    finally:
        await conn.close()


async def test_visits_own_events_reach_the_timeline_when_visits_runs(stack):
    intake, _ = await asyncio.gather(
        stack.start("intake"), stack.start("visits", VISITS_NEEDS_CALLING_FOR_VISIT='["consulting"]')
    )
    async with httpx.AsyncClient(timeout=15) as client:
        business = await _register(client, intake, dong="제기동")
        request = await client.post(
            url_for(intake, "/support-requests"), json={"business_id": business["id"], "needs": ["consulting"], "channel": "walk_in"}, headers=STAFF
        )
        assert request.status_code == 201

        async def visit_on_timeline():
            items = (await client.get(url_for(intake, f"/businesses/{business['id']}/timeline"), headers=STAFF)).json()["items"]
            return [i for i in items if i["source"] == "/sangsaeng/visits"]

        from_visits = await eventually(visit_on_timeline, timeout=90, what="visits' VisitScheduled on the timeline")
        assert from_visits[0]["type"] == "sangsaeng.visits.VisitScheduled.v1"
        assert from_visits[0]["summary"].startswith("방문 예정: ") and from_visits[0]["data"]["needs"] == ["consulting"]
