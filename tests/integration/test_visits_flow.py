"""End to end through the real services: intake's support request schedules a visit, the
planner records it, and the needs it identified reach loans and referrals as events only.
Every event names its actor (ce_actor): a command's the caller's subject, a consumer's
follow-up its cause's."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.integration.visits_helpers import event_type, visit_events
from tests.support import STAFF, business_body, eventually, headers_for, headers_of, read_topic, url_for

S1001, P2002 = headers_for("S-1001"), headers_for("P-2002")  # the member of staff at the desk; planner-02's person


async def test_a_visit_recorded_with_loan_and_closure_needs_reaches_loans_and_referrals(stack):
    intake, visits, _loans, referrals = await asyncio.gather(
        stack.start("intake"), stack.start("visits"), stack.start("loans"), stack.start("referrals")
    )
    async with httpx.AsyncClient(timeout=15) as client:
        business = (await client.post(url_for(intake, "/businesses"), json=business_body(dong="제기동"), headers=S1001)).json()
        bid = business["id"]
        request = await client.post(url_for(intake, "/support-requests"),
                                    json={"business_id": bid, "needs": ["consulting"], "channel": "phone"}, headers=S1001)
        assert request.status_code == 201, request.text

        async def scheduled() -> list[dict]:
            response = await client.get(url_for(visits, "/visits"), params={"business_id": bid}, headers=STAFF)
            return response.json() if response.status_code == 200 else []

        (visit,) = await eventually(scheduled, timeout=60, what="the visit scheduled from intake's support request")
        assert (visit["origin"], visit["planner_id"], visit["needs"]) == ("support_request", "planner-02", ["consulting"])

        recorded = await client.post(
            url_for(visits, f"/visits/{visit['id']}/record"),
            json={"planner_id": "planner-02", "visited_on": "2025-05-12", "outcome": "met", "stage_observed": "closing",
                  "needs_identified": ["loan", "closure_support"], "notes": "폐업 고민, 운영자금 대출 문의"},
            headers={**P2002, "Idempotency-Key": "e2e-record"},
        )
        assert recorded.status_code == 200, recorded.text

        async def recorded_events() -> list[dict]:
            # The relay publishes after the POST has answered: wait for it, then expect exactly one.
            return [h for h, _ in await visit_events(stack.bootstrap_servers) if event_type(h) == "VisitRecorded"]

        (recorded_event,) = await eventually(recorded_events, timeout=30, what="VisitRecorded on visits' topic")
        assert recorded_event["ce_actor"] == "P-2002"  # the caller's subject
        # visits' VisitScheduled, a consumer's follow-up of intake's SupportRequested, carries its cause's actor
        (scheduled_event,) = [h for h, _ in await visit_events(stack.bootstrap_servers) if event_type(h) == "VisitScheduled"]
        intake_events = {headers_of(r)["ce_id"]: headers_of(r) for r in await read_topic(stack.bootstrap_servers, "sangsaeng.intake.events")}
        assert intake_events[scheduled_event["ce_causationid"]]["ce_actor"] == scheduled_event["ce_actor"] == "S-1001"

        async def draft() -> list:
            records = await read_topic(stack.bootstrap_servers, "sangsaeng.loans.events")
            return [(headers_of(r), json.loads(r.value)) for r in records if headers_of(r)["ce_type"].endswith("LoanDraftCreated.v1")]

        ((draft_headers, draft_data),) = await eventually(draft, timeout=60, what="loans' LoanDraftCreated")
        assert (draft_data["business_id"], draft_data["visit_id"]) == (bid, visit["id"])
        assert draft_headers["ce_causationid"] == recorded_event["ce_id"]
        assert draft_headers["ce_actor"] == "P-2002"  # the visit's recorder drafted it (loans' segregation of duties reads this)
        (draft_row,) = (await client.get(url_for(_loans, "/applications"), params={"business_id": bid},
                                         headers=headers_for("L-3001"))).json()
        assert (draft_row["status"], draft_row["drafted_by"]) == ("draft", "P-2002")

        async def referred() -> list:
            response = await client.get(url_for(referrals, "/referrals"), params={"business_id": bid}, headers=STAFF)
            return response.json() if response.status_code == 200 else []

        (referral,) = await eventually(referred, timeout=60, what="referrals' referral from the visit")
        assert (referral["agency"], referral["origin"], referral["reason"]) == ("SEMAS", "visit", "visit:closure_support")
        assert referral["cause_event_id"] == recorded_event["ce_id"]

    # The outbox keeps the actor with the event (republishing a lost broker sends it again).
    conn = await stack.db()
    try:
        actors = await conn.fetch("select event_type, headers->>'ce_actor' as actor from visits.outbox order by seq")
    finally:
        await conn.close()
    assert [(r["event_type"].split(".")[2], r["actor"]) for r in actors] == [("VisitScheduled", "S-1001"), ("VisitRecorded", "P-2002")]
