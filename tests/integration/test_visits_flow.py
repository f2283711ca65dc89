"""End to end through the real services: intake's support request schedules a visit, the
planner records it, and the needs it identified reach loans and referrals as events only."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.integration.visits_helpers import PLANNER, event_type, visit_events
from tests.support import STAFF, business_body, eventually, headers_of, read_topic, url_for


async def test_a_visit_recorded_with_loan_and_closure_needs_reaches_loans_and_referrals(stack):
    intake, visits, _loans, referrals = await asyncio.gather(
        stack.start("intake"), stack.start("visits"), stack.start("loans"), stack.start("referrals")
    )
    async with httpx.AsyncClient(timeout=15) as client:
        business = (await client.post(url_for(intake, "/businesses"), json=business_body(dong="제기동"), headers=STAFF)).json()
        bid = business["id"]
        request = await client.post(url_for(intake, "/support-requests"),
                                    json={"business_id": bid, "needs": ["consulting"], "channel": "phone"}, headers=STAFF)
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
            headers={**PLANNER, "Idempotency-Key": "e2e-record"},
        )
        assert recorded.status_code == 200, recorded.text

        async def recorded_events() -> list[dict]:
            # The relay publishes after the POST has answered: wait for it, then expect exactly one.
            return [h for h, _ in await visit_events(stack.bootstrap_servers) if event_type(h) == "VisitRecorded"]

        (recorded_event,) = await eventually(recorded_events, timeout=30, what="VisitRecorded on visits' topic")

        async def draft() -> list:
            records = await read_topic(stack.bootstrap_servers, "sangsaeng.loans.events")
            return [(headers_of(r), json.loads(r.value)) for r in records if headers_of(r)["ce_type"].endswith("LoanDraftCreated.v1")]

        ((draft_headers, draft_data),) = await eventually(draft, timeout=60, what="loans' LoanDraftCreated")
        assert (draft_data["business_id"], draft_data["visit_id"]) == (bid, visit["id"])
        assert draft_headers["ce_causationid"] == recorded_event["ce_id"]

        async def referred() -> list:
            response = await client.get(url_for(referrals, "/referrals"), params={"business_id": bid}, headers=STAFF)
            return response.json() if response.status_code == 200 else []

        (referral,) = await eventually(referred, timeout=60, what="referrals' referral from the visit")
        assert (referral["agency"], referral["origin"], referral["reason"]) == ("SEMAS", "visit", "visit:closure_support")
        assert referral["cause_event_id"] == recorded_event["ce_id"]
