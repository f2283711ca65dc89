"""Visits are scheduled from support requests and by staff, assigned by the lightest-load
rule, safely under concurrency; staff reassign and cancel/reschedule."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import date, timedelta

import httpx

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.intake import SupportRequested
from tests.integration.visits_helpers import PLANNER, IntakeEvents, event_type, known_to_visits, visit_events, visits_of
from tests.support import AUDITOR, STAFF, check_paging, eventually, url_for


def next_monday_after(days: int) -> date:
    day = date.today() + timedelta(days=days)
    return day + timedelta(days=(7 - day.weekday()) % 7)


async def test_support_requests_that_call_for_a_visit_schedule_one_with_the_lightest_covering_planner(stack):
    visits = await stack.start("visits")
    async with IntakeEvents(stack.bootstrap_servers) as intake, httpx.AsyncClient(timeout=10) as client:
        shops = [await intake.business("제기동", name=f"제기 가게 {i}") for i in range(4)]  # planner-02 and planner-06 cover 제기동
        loan_only = await intake.business("제기동", name="대출만")
        requests = [await intake.support_requested(shop, Need.consulting, Need.loan) for shop in shops]
        await intake.support_requested(loan_only, Need.loan, Need.insurance)  # needs no visit
        await known_to_visits(client, visits, *shops, loan_only)

        async def scheduled() -> list[dict]:
            found = [v for shop in shops for v in await visits_of(client, visits, shop)]
            return found if len(found) == 4 else []

        found = await eventually(scheduled, what="4 visits scheduled from support requests")
        # 2025-05-09 is a Friday: the lead day lands on Saturday, so every visit is on Monday the 12th.
        assert {v["scheduled_for"] for v in found} == {"2025-05-12"}
        assert Counter(v["planner_id"] for v in found) == {"planner-02": 2, "planner-06": 2}
        assert all(v["origin"] == "support_request" and v["needs"] == ["consulting", "loan"] for v in found)
        assert {v["request_id"] for v in found} == {json.loads(r.data)["request_id"] for r in requests}

        # The same request again (a new event id, as after a replay) and a second request for a
        # shop with an open visit: no new visit; the second adds its needs to the open one.
        await intake.publish(SupportRequested.model_validate_json(requests[0].data))
        await intake.support_requested(shops[1], Need.closure_support)

        async def joined() -> dict | None:
            (visit,) = await visits_of(client, visits, shops[1])
            return visit if visit["needs"] == ["consulting", "loan", "closure_support"] else None

        await eventually(joined, what="the second request's needs joined to the open visit")
        assert await visits_of(client, visits, loan_only) == []
        assert len(await visits_of(client, visits, shops[0])) == 1

    events = await visit_events(stack.bootstrap_servers)
    assert [event_type(h) for h, _ in events] == ["VisitScheduled"] * 5
    causes = {str(r.id): r for r in requests}
    first_four = [e for e in events if e[0]["ce_causationid"] in causes]
    assert len(first_four) == 4
    for headers, data in first_four:
        request = causes[headers["ce_causationid"]]
        assert headers["ce_subject"] == data["business_id"] == request.subject
        assert headers["ce_correlationid"] == request.correlation_id
        assert headers["ce_source"] == "/sangsaeng/visits"
    rejoined = [d for _, d in events if d["business_id"] == str(shops[1])]
    assert [d["needs"] for d in rejoined] == [["consulting", "loan"], ["consulting", "loan", "closure_support"]]


async def test_concurrent_scheduling_balances_the_week_and_never_overbooks_a_day(stack):
    visits = await stack.start("visits")
    monday = next_monday_after(7)
    async with IntakeEvents(stack.bootstrap_servers) as intake, httpx.AsyncClient(timeout=30) as client:
        shops = [await intake.business("용두동", name=f"용두 가게 {i}") for i in range(14)]  # planner-01 and planner-02
        await known_to_visits(client, visits, *shops)
        responses = await asyncio.gather(*[
            client.post(url_for(visits, "/visits"), json={"business_id": str(shop), "scheduled_for": monday.isoformat(), "needs": ["consulting"]}, headers=STAFF)
            for shop in shops
        ])
        assert [r.status_code for r in responses] == [201] * 14, [r.text for r in responses if r.status_code != 201]
        booked = Counter((r.json()["planner_id"], r.json()["scheduled_for"]) for r in responses)
        tuesday = (monday + timedelta(days=1)).isoformat()
        # Capacity 6 a day: 12 fit on Monday, 6 each; the other 2 go to Tuesday, one each (lightest week).
        assert booked == {("planner-01", monday.isoformat()): 6, ("planner-02", monday.isoformat()): 6,
                          ("planner-01", tuesday): 1, ("planner-02", tuesday): 1}
        assert all(r.headers["location"] == f"/visits/{r.json()['id']}" for r in responses)

        again = await client.post(url_for(visits, "/visits"), json={"business_id": str(shops[0])}, headers=STAFF)
        assert again.status_code == 409 and again.json()["existing_id"] == responses[0].json()["id"]
        unknown = await client.post(url_for(visits, "/visits"), json={"business_id": "00000000-0000-0000-0000-000000000001"}, headers=STAFF)
        assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["business_id"]
        past = await client.post(url_for(visits, "/visits"), json={"business_id": str(shops[0]), "scheduled_for": "2020-01-06"}, headers=STAFF)
        assert past.status_code == 422 and past.json()["errors"][0]["field"] == "scheduled_for"
        for who in (PLANNER, AUDITOR):
            assert (await client.post(url_for(visits, "/visits"), json={"business_id": str(shops[0])}, headers=who)).status_code == 403

        route = (await client.get(url_for(visits, "/planners/planner-01/route"), params={"date": monday.isoformat()}, headers=PLANNER)).json()
        assert route["daily_capacity"] == 6 and len(route["stops"]) == 6
        assert {s["dong"] for s in route["stops"]} == {"용두동"} and all(s["status"] == "scheduled" for s in route["stops"])
        planners = (await client.get(url_for(visits, "/planners"), headers=AUDITOR)).json()
        assert [p["id"] for p in planners] == [f"planner-{i:02d}" for i in range(1, 9)]
        assert set().union(*(p["territory"] for p in planners)) >= {"용두동", "이문2동", "장안1동"}

    conn = await stack.db()
    try:
        assert await conn.fetchval("select count(*) from visits.visits") == 14
        assert await conn.fetchval("select count(*) from visits.outbox where event_type like '%VisitScheduled%'") == 14
    finally:
        await conn.close()


async def test_staff_reassign_and_cancel_with_a_reschedule(stack):
    visits = await stack.start("visits")
    day = next_monday_after(7)
    async with IntakeEvents(stack.bootstrap_servers) as intake, httpx.AsyncClient(timeout=10) as client:
        shop = await intake.business("제기동")
        await known_to_visits(client, visits, shop)
        visit = (await client.post(url_for(visits, "/visits"), json={"business_id": str(shop), "scheduled_for": day.isoformat()}, headers=STAFF)).json()
        assert visit["planner_id"] == "planner-02"

        outside = await client.post(url_for(visits, f"/visits/{visit['id']}/reassign"), json={"planner_id": "planner-08"}, headers=STAFF)
        assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "override_reason"
        moved = await client.post(url_for(visits, f"/visits/{visit['id']}/reassign"), json={"planner_id": "planner-06"}, headers=STAFF)
        assert moved.status_code == 200 and moved.json()["planner_id"] == "planner-06"
        nobody = await client.post(url_for(visits, f"/visits/{visit['id']}/reassign"), json={"planner_id": "planner-99"}, headers=STAFF)
        assert nobody.status_code == 422 and nobody.json()["errors"][0]["field"] == "planner_id"

        later = day + timedelta(days=7)
        cancelled = await client.post(url_for(visits, f"/visits/{visit['id']}/cancel"),
                                      json={"reason": "사장님 일정 변경", "reschedule_to": later.isoformat()}, headers=STAFF)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        new_id = cancelled.json()["rescheduled_visit_id"]
        new = (await client.get(url_for(visits, f"/visits/{new_id}"), headers=STAFF)).json()
        assert (new["status"], new["scheduled_for"], new["origin"], new["rescheduled_from"]) == ("scheduled", later.isoformat(), "reschedule", visit["id"])
        twice = await client.post(url_for(visits, f"/visits/{visit['id']}/cancel"), json={"reason": "again"}, headers=STAFF)
        assert twice.status_code == 409
        plain = await client.post(url_for(visits, f"/visits/{new_id}/cancel"), json={"reason": "폐업"}, headers=STAFF)
        assert plain.status_code == 200 and plain.json()["rescheduled_visit_id"] is None

    events = await visit_events(stack.bootstrap_servers)
    assert [(event_type(h), d["visit_id"]) for h, d in events] == [
        ("VisitScheduled", visit["id"]), ("VisitScheduled", visit["id"]), ("VisitScheduled", new_id),
        ("VisitCancelled", visit["id"]), ("VisitCancelled", new_id),
    ]
    assert (events[1][1]["planner_id"], events[1][1]["reassigned_from"]) == ("planner-06", "planner-02")
    assert events[3][1]["rescheduled_visit_id"] == new_id and events[3][1]["reason_code"] == "rescheduled"
    assert "사장님 일정 변경" not in json.dumps(events, ensure_ascii=False)  # the words stay in visits


async def test_visits_list_pages_with_a_cursor(stack):
    visits = await stack.start("visits")
    async with IntakeEvents(stack.bootstrap_servers) as intake, httpx.AsyncClient(timeout=10) as client:
        shops = [await intake.business("제기동", name=f"가게 {i}") for i in range(5)]
        for i, shop in enumerate(shops):
            await intake.support_requested(shop, Need.consulting, requested_on=date(2025, 5, 5 + i))
        await known_to_visits(client, visits, *shops)

        async def five() -> bool:
            return len((await client.get(url_for(visits, "/visits"), headers=STAFF)).json()) == 5

        await eventually(five, what="five visits scheduled")
        listed = await check_paging(client, url_for(visits, "/visits"), params={"status": "scheduled"}, headers=STAFF, expected=5)
        assert {v["business_id"] for v in listed} == {str(s) for s in shops}
