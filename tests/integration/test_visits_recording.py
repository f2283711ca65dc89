"""Recording a visit: validation, idempotency, VisitRecorded without notes, planner views,
the report, and erasure."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx

from sangsaeng_common.contracts.common import Need
from tests.integration.visits_helpers import PLANNER, IntakeEvents, event_type, known_to_visits, visit_events, visits_of
from tests.support import AUDITOR, STAFF, eventually, url_for

NOTES = "임대 계약 만료 예정, 사장님 폐업 고민 중"


def record_body(**changes) -> dict:
    return {
        "planner_id": "planner-02",
        "visited_on": "2025-05-12",
        "outcome": "met",
        "stage_observed": "closing",
        "needs_identified": ["loan", "closure_support", "loan"],
        "services_given": ["폐업 절차 안내"],
        "follow_ups": [{"action": "희망리턴패키지 서류 확인", "due_on": "2025-05-19"}],
        "notes": NOTES,
        **changes,
    }


async def test_recording_validates_and_is_idempotent_and_keeps_notes_out_of_events(stack):
    visits = await stack.start("visits")
    async with IntakeEvents(stack.bootstrap_servers) as intake, httpx.AsyncClient(timeout=10) as client:
        shop, other = await intake.business("제기동", name="제기 분식"), await intake.business("이문2동", name="이문 세탁")
        await intake.support_requested(shop, Need.closure_support, requested_on=date(2025, 5, 9))
        await intake.support_requested(other, Need.consulting, requested_on=date(2025, 5, 9))
        await known_to_visits(client, visits, shop, other)
        (visit,) = await eventually(lambda: visits_of(client, visits, shop), what="the requested visit")
        (far,) = await eventually(lambda: visits_of(client, visits, other), what="the other visit")
        assert (visit["planner_id"], far["planner_id"]) == ("planner-02", "planner-08")
        record = url_for(visits, f"/visits/{visit['id']}/record")

        future = (date.today() + timedelta(days=2)).isoformat()
        refused = {
            "visited_on": record_body(visited_on=future, follow_ups=[]),
            "notes": record_body(notes="사장 주민번호 800101-1234567"),
            "follow_ups.0.action": record_body(follow_ups=[{"action": "9001012345678 확인", "due_on": "2025-05-19"}]),
            "planner_id": record_body(planner_id="planner-99"),
            "services_given": record_body(outcome="owner_absent"),
        }
        for field, body in refused.items():
            response = await client.post(record, json=body, headers=PLANNER)
            assert response.status_code == 422, (field, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in response.json()["errors"]] == [field], field
        bad_outcome = await client.post(record, json=record_body(outcome="moved_away"), headers=PLANNER)
        assert bad_outcome.status_code == 422 and bad_outcome.json()["errors"][0]["field"] == "outcome"
        assert (await client.post(record, json=record_body(), headers=STAFF)).status_code == 403
        unknown = await client.post(url_for(visits, "/visits/00000000-0000-0000-0000-000000000009/record"), json=record_body(), headers=PLANNER)
        assert unknown.status_code == 404

        # Outside planner-02's territory (이문2동): refused without a reason, accepted with one.
        other_record = url_for(visits, f"/visits/{far['id']}/record")
        outside = await client.post(other_record, json=record_body(follow_ups=[]), headers=PLANNER)
        assert outside.status_code == 422 and [e["field"] for e in outside.json()["errors"]] == ["override_reason"]
        covered = await client.post(other_record, json=record_body(follow_ups=[], override_reason="담당 플래너 휴가 대체"), headers=PLANNER)
        assert covered.status_code == 200, covered.text

        # The same record sent three times at once with one Idempotency-Key is one visit.
        headers = {**PLANNER, "Idempotency-Key": "record-jegi-0512"}
        answers = await asyncio.gather(*[client.post(record, json=record_body(), headers=headers) for _ in range(3)])
        assert [a.status_code for a in answers] == [200] * 3 and all(a.json() == answers[0].json() for a in answers)
        recorded = answers[0].json()
        assert (recorded["status"], recorded["visited_by"], recorded["outcome"]) == ("recorded", "planner-02", "met")
        assert recorded["needs_identified"] == ["loan", "closure_support"] and recorded["notes"] == NOTES
        assert recorded["follow_ups"] == [{"position": 1, "action": "희망리턴패키지 서류 확인", "due_on": "2025-05-19", "done_on": None}]
        again = await client.post(record, json=record_body(), headers={**PLANNER, "Idempotency-Key": "another-key"})
        assert again.status_code == 409 and again.json()["title"] == "Visit already recorded"
        reused = await client.post(record, json=record_body(notes="다른 메모"), headers=headers)
        assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["title"]

        # Notes are for staff and planners, not auditors.
        assert (await client.get(url_for(visits, f"/visits/{visit['id']}"), headers=STAFF)).json()["notes"] == NOTES
        assert (await client.get(url_for(visits, f"/visits/{visit['id']}"), headers=AUDITOR)).json()["notes"] is None

        # Planner views and the report.
        follow_ups = (await client.get(url_for(visits, "/planners/planner-02/follow-ups"), headers=PLANNER)).json()
        assert [(f["visit_id"], f["action"], f["overdue"]) for f in follow_ups] == [(visit["id"], "희망리턴패키지 서류 확인", True)]
        done = await client.post(url_for(visits, f"/visits/{visit['id']}/follow-ups/1/done"), headers=PLANNER)
        assert done.status_code == 200 and done.json()["follow_ups"][0]["done_on"] is not None
        assert (await client.get(url_for(visits, "/planners/planner-02/follow-ups"), headers=PLANNER)).json() == []
        route = (await client.get(url_for(visits, "/planners/planner-02/route"), params={"date": "2025-05-12"}, headers=PLANNER)).json()
        assert [(s["business_name"], s["status"], s["outcome"]) for s in route["stops"]] == [("제기 분식", "recorded", "met")]
        report = (await client.get(url_for(visits, "/reports/visits"), params={"from": "2025-05-01", "to": "2025-05-31"}, headers=AUDITOR)).json()
        assert (report["from"], report["visits"], report["distinct_shops"]) == ("2025-05-01", 2, 2)
        assert report["by_dong"] == [{"dong": "제기동", "visits": 1, "distinct_shops": 1}, {"dong": "이문2동", "visits": 1, "distinct_shops": 1}]
        assert report["by_week"] == [{"week": "2025-W20", "week_start": "2025-05-12", "visits": 2, "distinct_shops": 2}]
        assert report["by_outcome"] == {"met": 2}
        empty = (await client.get(url_for(visits, "/reports/visits"), params={"from": "2025-06-01", "to": "2025-06-30"}, headers=AUDITOR)).json()
        assert (empty["visits"], empty["by_dong"]) == (0, [])

    async def recorded() -> list | None:  # the relay publishes after the POSTs answered
        events = [(h, d) for h, d in await visit_events(stack.bootstrap_servers) if event_type(h) == "VisitRecorded"]
        return events if len(events) >= 2 else None

    events = await eventually(recorded, timeout=30, what="both VisitRecorded on visits' topic")
    assert len(events) == 2
    (headers, data), = [e for e in events if e[1]["visit_id"] == visit["id"]]
    assert headers["ce_subject"] == str(shop)
    assert data == {
        "visit_id": visit["id"], "business_id": str(shop), "planner_id": "planner-02", "dong": "제기동",
        "visited_on": "2025-05-12", "outcome": "met", "stage_observed": "closing",
        "needs_identified": ["loan", "closure_support"], "services_given_count": 1,
        "follow_ups": [{"number": 1, "due_on": "2025-05-19"}],  # VisitRecorded.v2: the planner's words stay in visits
    }
    published = str(await visit_events(stack.bootstrap_servers))
    assert NOTES not in published and "폐업 절차 안내" not in published and "희망리턴패키지" not in published


async def test_erasure_blanks_notes_anonymises_the_shop_and_cancels_its_open_visits(stack):
    visits = await stack.start("visits")
    async with IntakeEvents(stack.bootstrap_servers) as intake, httpx.AsyncClient(timeout=10) as client:
        shop, kept = await intake.business("회기동", name="김철수 공방"), await intake.business("회기동", name="다른 가게")
        await known_to_visits(client, visits, shop, kept)
        first = (await client.post(url_for(visits, "/visits"), json={"business_id": str(shop)}, headers=STAFF)).json()
        recorded = await client.post(url_for(visits, f"/visits/{first['id']}/record"),
                                     json=record_body(planner_id=first["planner_id"], notes="김철수 사장님 010-1234-5678"), headers=PLANNER)
        assert recorded.status_code == 200, recorded.text
        other = (await client.post(url_for(visits, "/visits"), json={"business_id": str(kept)}, headers=STAFF)).json()
        await client.post(url_for(visits, f"/visits/{other['id']}/record"), json=record_body(planner_id=other["planner_id"]), headers=PLANNER)
        open_visit = (await client.post(url_for(visits, "/visits"), json={"business_id": str(shop)}, headers=STAFF)).json()

        await intake.erased(shop)

        async def erased() -> dict | None:
            business = (await client.get(url_for(visits, f"/businesses/{shop}"), headers=STAFF)).json()
            return business if business["erased_at"] else None

        business = await eventually(erased, what="the erasure applied")
        assert (business["name"], business["registration_number"], business["dong"], business["industry"]) == ("(삭제됨)", None, "회기동", "음식점업")
        by_id = {v["id"]: v for v in await visits_of(client, visits, shop)}
        assert by_id[first["id"]]["notes"] is None and by_id[first["id"]]["needs_identified"] == ["loan", "closure_support"]
        # every word the planner wrote goes too; the follow-up's date stays
        assert by_id[first["id"]]["services_given"] == []
        assert [(f["action"], f["due_on"]) for f in by_id[first["id"]]["follow_ups"]] == [("(삭제됨)", "2025-05-19")]
        assert (by_id[open_visit["id"]]["status"], by_id[open_visit["id"]]["cancel_reason"]) == ("cancelled", "business erased")
        (untouched,) = await visits_of(client, visits, kept)
        assert untouched["notes"] == NOTES
        # Statistics keep the erased shop's visit; no new visit can be scheduled for it.
        report = (await client.get(url_for(visits, "/reports/visits"), params={"from": "2025-05-01", "to": "2025-05-31"}, headers=STAFF)).json()
        assert (report["visits"], report["distinct_shops"]) == (2, 2)
        refused = await client.post(url_for(visits, "/visits"), json={"business_id": str(shop)}, headers=STAFF)
        assert refused.status_code == 409 and refused.json()["title"] == "Business erased"

    conn = await stack.db()
    try:
        assert await conn.fetchval("select count(*) from visits.visits where notes like '%김철수%'") == 0
        assert await conn.fetchval("select count(*) from visits.businesses where name like '%김철수%'") == 0
    finally:
        await conn.close()
    async def cancellations() -> list:
        return [(h, d) for h, d in await visit_events(stack.bootstrap_servers) if event_type(h) == "VisitCancelled"]

    cancelled = await eventually(cancellations, timeout=30, what="VisitCancelled on visits' topic")
    assert [(d["visit_id"], d["reason_code"]) for _, d in cancelled] == [(open_visit["id"], "business_erased")]


async def test_the_planner_defaults_to_the_visits_assigned_planner_and_another_one_is_checked(stack):
    visits = await stack.start("visits")
    async with IntakeEvents(stack.bootstrap_servers) as intake, httpx.AsyncClient(timeout=10) as client:
        shop, next_door = await intake.business("제기동", name="제기 분식"), await intake.business("제기동", name="제기 철물")
        for business in (shop, next_door):
            await intake.support_requested(business, Need.consulting, requested_on=date(2025, 5, 9))
        await known_to_visits(client, visits, shop, next_door)
        (visit,) = await eventually(lambda: visits_of(client, visits, shop), what="the requested visit")
        (other,) = await eventually(lambda: visits_of(client, visits, next_door), what="the other visit")
        assert {visit["planner_id"], other["planner_id"]} <= {"planner-02", "planner-06"}  # both cover 제기동; planner-08 does not
        body = {k: v for k, v in record_body(follow_ups=[]).items() if k != "planner_id"}

        # No planner named: the visit's own (DESIGN.md's visit record has no planner_id).
        recorded = await client.post(url_for(visits, f"/visits/{visit['id']}/record"), json=body, headers=PLANNER)
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["visited_by"] == visit["planner_id"]

        # Another planner named: checked like any (exists and active; covers the dong or a reason is given).
        other_record = url_for(visits, f"/visits/{other['id']}/record")
        unknown = await client.post(other_record, json={**body, "planner_id": "planner-99"}, headers=PLANNER)
        assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["planner_id"]
        outside = await client.post(other_record, json={**body, "planner_id": "planner-08"}, headers=PLANNER)
        assert outside.status_code == 422 and [e["field"] for e in outside.json()["errors"]] == ["override_reason"]
        stand_in = await client.post(other_record, json={**body, "planner_id": "planner-08", "override_reason": "담당 플래너 휴가 대체"},
                                     headers=PLANNER)
        assert stand_in.status_code == 200, stand_in.text
        assert stand_in.json()["visited_by"] == "planner-08"

    async def recorded_events() -> dict | None:
        events = {d["visit_id"]: d for h, d in await visit_events(stack.bootstrap_servers) if event_type(h) == "VisitRecorded"}
        return events if len(events) >= 2 else None

    events = await eventually(recorded_events, timeout=30, what="both VisitRecorded")
    assert (events[visit["id"]]["planner_id"], events[other["id"]]["planner_id"]) == (visit["planner_id"], "planner-08")
