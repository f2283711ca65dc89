"""Recording a visit: validation, idempotency, VisitRecorded without notes, planner views,
the report, and erasure."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx

from sangsaeng_common.contracts.common import Need
from tests.integration.visits_helpers import PLANNER, IntakeEvents, event_type, known_to_visits, visit_events, visits_of
from tests.support import AUDITOR, STAFF, assert_refused_by_rule, token_for, eventually, headers_for, headers_of_planner, planner_subject, url_for

# planner-02's person, who records planner-02's visits; another planner; a member of staff
P2002, P2006, S1001 = headers_for("P-2002"), headers_for("P-2006"), headers_for("S-1001")

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
            "services_given": record_body(outcome="owner_absent"),
        }
        for field, body in refused.items():
            response = await client.post(record, json=body, headers=P2002)
            assert response.status_code == 422, (field, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in response.json()["errors"]] == [field], field
        bad_outcome = await client.post(record, json=record_body(outcome="moved_away"), headers=P2002)
        assert bad_outcome.status_code == 422 and bad_outcome.json()["errors"][0]["field"] == "outcome"
        unknown_planner = await client.post(record, json=record_body(planner_id="planner-99"), headers=S1001)
        assert unknown_planner.status_code == 422 and [e["field"] for e in unknown_planner.json()["errors"]] == ["planner_id"]
        unknown = await client.post(url_for(visits, "/visits/00000000-0000-0000-0000-000000000009/record"), json=record_body(), headers=P2002)
        assert unknown.status_code == 404

        NO_PLANNER_ID = {"Authorization": f"Bearer {token_for('P-2002', planner_id=None)}"}  # a planner role, no roster id
        # own_visits_only: another planner may not record planner-02's visit, with or without naming
        # planner-02; planner-02 may not name another planner; a planner token naming no planner owns no visit.
        refusals = [
            assert_refused_by_rule(await client.post(record, json=body, headers=who), "own_visits_only")["detail"]
            for who, body in ((P2006, record_body()), (P2006, record_body(planner_id=None)), (P2002, record_body(planner_id="planner-06")),
                              (NO_PLANNER_ID, record_body()))
        ]
        assert "assigned to planner-02, not to the caller (planner-06)" in refusals[1]
        assert "planner_id planner-06 is not the caller (planner-02)" in refusals[2]
        assert "names no planner id" in refusals[3]

        # Outside planner-02's territory (이문2동), planner-08's visit: planner-02 may not record it;
        # staff record it on planner-02's behalf (refused without a reason, accepted with one): the
        # visit is reassigned to planner-02 as it is recorded.
        other_record = url_for(visits, f"/visits/{far['id']}/record")
        assert_refused_by_rule(await client.post(other_record, json=record_body(follow_ups=[]), headers=P2002), "own_visits_only")
        outside = await client.post(other_record, json=record_body(follow_ups=[]), headers=S1001)
        assert outside.status_code == 422 and [e["field"] for e in outside.json()["errors"]] == ["override_reason"]
        covered = await client.post(other_record, json=record_body(follow_ups=[], override_reason="담당 플래너 휴가 대체"), headers=S1001)
        assert covered.status_code == 200, covered.text
        assert (covered.json()["planner_id"], covered.json()["visited_by"]) == ("planner-02", "planner-02")

        # The same record sent three times at once with one Idempotency-Key is one visit.
        headers = {**P2002, "Idempotency-Key": "record-jegi-0512"}
        answers = await asyncio.gather(*[client.post(record, json=record_body(), headers=headers) for _ in range(3)])
        assert [a.status_code for a in answers] == [200] * 3 and all(a.json() == answers[0].json() for a in answers)
        recorded = answers[0].json()
        assert (recorded["status"], recorded["visited_by"], recorded["outcome"]) == ("recorded", "planner-02", "met")
        assert recorded["needs_identified"] == ["loan", "closure_support"] and recorded["notes"] == NOTES
        assert recorded["follow_ups"] == [{"position": 1, "action": "희망리턴패키지 서류 확인", "due_on": "2025-05-19", "done_on": None}]
        again = await client.post(record, json=record_body(), headers={**P2002, "Idempotency-Key": "another-key"})
        assert again.status_code == 409 and again.json()["title"] == "Visit already recorded"
        reused = await client.post(record, json=record_body(notes="다른 메모"), headers=headers)
        assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["title"]

        # Notes are for staff and planners, not auditors.
        assert (await client.get(url_for(visits, f"/visits/{visit['id']}"), headers=STAFF)).json()["notes"] == NOTES
        assert (await client.get(url_for(visits, f"/visits/{visit['id']}"), headers=AUDITOR)).json()["notes"] is None

        # Planner views and the report.
        follow_ups = (await client.get(url_for(visits, "/planners/planner-02/follow-ups"), headers=PLANNER)).json()
        assert [(f["visit_id"], f["action"], f["overdue"]) for f in follow_ups] == [(visit["id"], "희망리턴패키지 서류 확인", True)]
        follow_up_done = url_for(visits, f"/visits/{visit['id']}/follow-ups/1/done")
        assert_refused_by_rule(await client.post(follow_up_done, headers=P2006), "own_visits_only")
        done = await client.post(follow_up_done, headers=P2002)
        assert done.status_code == 200 and done.json()["follow_ups"][0]["done_on"] is not None
        assert (await client.get(url_for(visits, "/planners/planner-02/follow-ups"), headers=PLANNER)).json() == []
        route = (await client.get(url_for(visits, "/planners/planner-02/route"), params={"date": "2025-05-12"}, headers=PLANNER)).json()
        # 이문 세탁's visit is planner-02's since staff recorded it on planner-02's behalf
        assert sorted((s["business_name"], s["status"], s["outcome"]) for s in route["stops"]) == [
            ("이문 세탁", "recorded", "met"), ("제기 분식", "recorded", "met")]
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
    assert (headers["ce_subject"], headers["ce_actor"]) == (str(shop), "P-2002")
    (far_headers, far_data), = [e for e in events if e[1]["visit_id"] == far["id"]]
    assert (far_headers["ce_actor"], far_data["planner_id"]) == ("S-1001", "planner-02")  # staff, on planner-02's behalf
    reassigned = [(h, d) for h, d in await visit_events(stack.bootstrap_servers)
                  if event_type(h) == "VisitScheduled" and d["visit_id"] == far["id"] and d["reassigned_from"]]
    assert [(d["planner_id"], d["reassigned_from"], h["ce_actor"]) for h, d in reassigned] == [("planner-02", "planner-08", "S-1001")]
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
                                     json=record_body(planner_id=first["planner_id"], notes="김철수 사장님 010-1234-5678"),
                                     headers=headers_of_planner(first["planner_id"]))
        assert recorded.status_code == 200, recorded.text
        other = (await client.post(url_for(visits, "/visits"), json={"business_id": str(kept)}, headers=STAFF)).json()
        await client.post(url_for(visits, f"/visits/{other['id']}/record"), json=record_body(planner_id=other["planner_id"]),
                          headers=headers_of_planner(other["planner_id"]))
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


async def test_the_planner_defaults_to_the_visits_assigned_planner_and_staff_may_name_another_one(stack):
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
        recorded = await client.post(url_for(visits, f"/visits/{visit['id']}/record"), json=body, headers=headers_of_planner(visit["planner_id"]))
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["visited_by"] == visit["planner_id"]

        # Another planner named: by the visit's own planner, refused (own_visits_only); by staff,
        # checked like any (exists and active; covers the dong or a reason is given), and the visit
        # is reassigned to the planner named.
        other_record = url_for(visits, f"/visits/{other['id']}/record")
        assigned = headers_of_planner(other["planner_id"])
        assert_refused_by_rule(await client.post(other_record, json={**body, "planner_id": "planner-08"}, headers=assigned), "own_visits_only")
        unknown = await client.post(other_record, json={**body, "planner_id": "planner-99"}, headers=S1001)
        assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["planner_id"]
        outside = await client.post(other_record, json={**body, "planner_id": "planner-08"}, headers=S1001)
        assert outside.status_code == 422 and [e["field"] for e in outside.json()["errors"]] == ["override_reason"]
        stand_in = await client.post(other_record, json={**body, "planner_id": "planner-08", "override_reason": "담당 플래너 휴가 대체"},
                                     headers=S1001)
        assert stand_in.status_code == 200, stand_in.text
        assert (stand_in.json()["visited_by"], stand_in.json()["planner_id"]) == ("planner-08", "planner-08")

    async def recorded_events() -> dict | None:
        events = {d["visit_id"]: (h, d) for h, d in await visit_events(stack.bootstrap_servers) if event_type(h) == "VisitRecorded"}
        return events if len(events) >= 2 else None

    events = await eventually(recorded_events, timeout=30, what="both VisitRecorded")
    assert (events[visit["id"]][1]["planner_id"], events[other["id"]][1]["planner_id"]) == (visit["planner_id"], "planner-08")
    assert (events[visit["id"]][0]["ce_actor"], events[other["id"]][0]["ce_actor"]) == (planner_subject(visit["planner_id"]), "S-1001")
    # Every VisitRecorded names the visit's assigned planner: staff's stand-in reassigned it first.
    scheduled = [d for h, d in await visit_events(stack.bootstrap_servers) if event_type(h) == "VisitScheduled" and d["visit_id"] == other["id"]]
    assert (scheduled[-1]["planner_id"], scheduled[-1]["reassigned_from"]) == ("planner-08", other["planner_id"])
