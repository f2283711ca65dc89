"""The guarantee saga (GuaranteeRequested → referrals → ReferralCompleted), its timeout sweep,
drafts from visits, and the round budget under concurrent screening replicas."""

from __future__ import annotations

import asyncio
import json

import httpx

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.referrals import ReferralOutcome
from tests.integration.loans_helpers import (
    OFFICER, Upstream, application_body, known_to_loans, loan_events, of_type, settled, submit,
)
from tests.support import AUDITOR, STAFF, eventually, url_for


async def test_guarantee_issued_declined_and_the_bank_loan_with_its_subsidy(stack):
    loans = await stack.start("loans")
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        shop, other = await upstream.business(), await upstream.business()
        await known_to_loans(stack, shop, other)
        issued = await submit(client, loans, application_body(shop, program="bank_cooperation", amount_krw=30_000_000, purpose="facility"))
        declined = await submit(client, loans, application_body(other, program="bank_cooperation", amount_krw=20_000_000))
        waiting = await settled(client, loans, issued["id"], "awaiting_guarantee")
        assert (waiting["eligible"], waiting["guarantee_requested_on"] is not None, waiting["reserved_krw"]) == (True, True, 0)
        assert waiting["guarantee_requested_on"] == "2025-05-02"  # the application's own date, not the wall clock's
        await settled(client, loans, declined["id"], "awaiting_guarantee")
        # Not decidable before the guarantee answers.
        early = await client.post(url_for(loans, f"/applications/{issued['id']}/decision"), json={"decision": "approve"}, headers=OFFICER)
        assert early.status_code == 409

        # The foundation's answers arrive as referrals' ReferralCompleted (published here as referrals would).
        await upstream.guarantee(issued, ReferralOutcome.guarantee_issued, amount_krw=25_000_000)
        await upstream.guarantee(declined, ReferralOutcome.guarantee_declined)
        moved = await settled(client, loans, issued["id"], "awaiting_decision")
        assert (moved["guarantee_outcome"], moved["guarantee_amount_krw"]) == ("guarantee_issued", 25_000_000)
        await settled(client, loans, declined["id"], "rejected")
        await upstream.guarantee(issued, ReferralOutcome.guarantee_declined)  # a late contradicting answer changes nothing
        await asyncio.sleep(1)
        assert (await settled(client, loans, issued["id"], "awaiting_decision"))["guarantee_outcome"] == "guarantee_issued"

        decide = url_for(loans, f"/applications/{issued['id']}/decision")
        above_guarantee = await client.post(decide, json={"decision": "approve", "decided_on": "2025-05-30"}, headers=OFFICER)
        assert above_guarantee.status_code == 422 and "guaranteed" in above_guarantee.json()["detail"]
        ok = await client.post(decide, json={"decision": "approve", "amount_krw": 25_000_000, "decided_on": "2025-05-30"}, headers=OFFICER)
        assert ok.status_code == 200, ok.text
        disburse = url_for(loans, f"/applications/{issued['id']}/disbursement")
        no_rate = await client.post(disburse, json={"disbursed_on": "2025-06-02"}, headers=OFFICER)
        assert no_rate.status_code == 422 and no_rate.json()["errors"][0]["field"] == "annual_rate_pct"
        paid = await client.post(disburse, json={"disbursed_on": "2025-06-02", "annual_rate_pct": "4.8"}, headers=OFFICER)
        assert paid.status_code == 200, paid.text
        plan = paid.json()["schedule"]
        assert (plan["annual_rate_pct"], plan["subsidy_rate_pct"], plan["subsidy_months"]) == ("4.8", "2.000", 24)
        assert (plan["payments"][0]["interest_krw"], plan["payments"][0]["subsidy_krw"], plan["payments"][0]["payable_krw"]) == (100_000, 41_666, 58_334)
        assert plan["payments"][24]["subsidy_krw"] == 0

    events = await loan_events(stack.bootstrap_servers)
    (request,) = of_type(events, "GuaranteeRequested", issued["id"])
    assert (request["amount_krw"], request["agency"], request["business_id"]) == (30_000_000, "SEOUL_CREDIT_GUARANTEE", str(shop))
    assert request["requested_on"] == "2025-05-02"  # dated by the business date: the referral it causes counts in 2025H1
    assert of_type(events, "LoanRejected", declined["id"])[0]["reason_codes"] == ["guarantee_declined"]
    (disbursed,) = of_type(events, "LoanDisbursed", issued["id"])
    assert (disbursed["annual_rate_pct"], disbursed["subsidy_rate_pct"], disbursed["subsidy_months"]) == (4.8, 2.0, 24)


async def test_a_guarantee_that_never_answers_times_out_into_a_visible_state(stack):
    loans = await stack.start("loans")
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        shop, patient = await upstream.business(), await upstream.business()
        await known_to_loans(stack, shop, patient)
        silent = await submit(client, loans, application_body(shop, program="bank_cooperation"))
        other = await submit(client, loans, application_body(patient, program="bank_cooperation"))
        await settled(client, loans, silent["id"], "awaiting_guarantee")
        await settled(client, loans, other["id"], "awaiting_guarantee")
        await asyncio.sleep(1.5)  # the serve process swept at start: nothing waited 30 days yet
        assert (await client.get(url_for(loans, "/applications"), params={"status": "guarantee_overdue"}, headers=STAFF)).json() == []
        # A replica whose clock is 31 days ahead (LOANS_CLOCK_OFFSET_DAYS) sweeps with the 30-day timeout.
        stack.spawn("loans", "consume", name="loans-sweeper", LOANS_CLOCK_OFFSET_DAYS="31", LOANS_GUARANTEE_SWEEP_INTERVAL_S="0.5",
                    GUARANTEE_TIMEOUT_DAYS="30")
        overdue = await settled(client, loans, silent["id"], "guarantee_overdue", timeout=90)
        assert overdue["guarantee_timed_out_on"] is not None
        await settled(client, loans, other["id"], "guarantee_overdue")
        listed = (await client.get(url_for(loans, "/applications"), params={"status": "guarantee_overdue"}, headers=STAFF)).json()
        assert {a["id"] for a in listed} == {silent["id"], other["id"]}
        # A late answer still moves it on; staff may withdraw (or the officer reject) the other.
        await upstream.guarantee(silent, ReferralOutcome.guarantee_issued, amount_krw=30_000_000)
        await settled(client, loans, silent["id"], "awaiting_decision")
        gone = await client.post(url_for(loans, f"/applications/{other['id']}/withdraw"), json={"reason": "보증 대기 포기"}, headers=STAFF)
        assert gone.status_code == 200 and gone.json()["status"] == "withdrawn"

    events = await loan_events(stack.bootstrap_servers)
    timed_out = of_type(events, "GuaranteeTimedOut")
    assert sorted((t["application_id"], t["timeout_days"]) for t in timed_out) == sorted([(silent["id"], 30.0), (other["id"], 30.0)])


async def test_a_visit_with_a_loan_need_makes_one_draft_that_staff_complete(stack):
    loans = await stack.start("loans")
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        shop, other = await upstream.business(), await upstream.business()
        await known_to_loans(stack, shop, other)
        visit = await upstream.visit(shop, Need.loan, Need.consulting)
        await upstream.visit(shop, Need.loan, visit_id=visit)  # the same visit again (a new event id)
        await upstream.visit(shop, Need.loan)  # another visit while the draft is open
        await upstream.visit(other, Need.consulting)  # no loan need: no draft

        async def drafts(business) -> list[dict]:
            response = await client.get(url_for(loans, "/applications"), params={"business_id": str(business)}, headers=STAFF)
            return response.json()

        (draft,) = await eventually(lambda: drafts(shop), what="the draft")
        assert (draft["status"], draft["origin"], draft["visit_id"], draft["program"], draft["amount_krw"]) == ("draft", "visit", str(visit), None, None)
        await asyncio.sleep(1.5)
        assert len(await drafts(shop)) == 1 and await drafts(other) == []
        # A draft is not an application: it is not screened and not counted.
        report = (await client.get(url_for(loans, "/reports/applications"), params={"from": "2025-01-01", "to": "2025-12-31"}, headers=AUDITOR)).json()
        assert report["applications"] == 0
        body = {k: v for k, v in application_body(shop).items() if k != "business_id"}
        wrong = await client.post(url_for(loans, f"/applications/{draft['id']}/submit"), json={**body, "business_id": str(other)}, headers=STAFF)
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "business_id"
        submitted = await client.post(url_for(loans, f"/applications/{draft['id']}/submit"), json=body, headers=STAFF)
        assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
        assert (await client.post(url_for(loans, f"/applications/{draft['id']}/submit"), json=body, headers=STAFF)).status_code == 409
        await settled(client, loans, draft["id"], "awaiting_decision")

    events = await loan_events(stack.bootstrap_servers)
    (created,) = of_type(events, "LoanDraftCreated")
    assert (created["application_id"], created["visit_id"]) == (draft["id"], str(visit))
    assert len(of_type(events, "LoanSubmitted", draft["id"])) == 1


async def test_two_replicas_never_over_commit_a_round_and_releases_return_budget(stack):
    loans = await stack.start("loans")
    stack.spawn("loans", "consume", name="loans-consume-2")
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        shops = [await upstream.business() for _ in range(12)]
        await known_to_loans(stack, *shops)
        small = {"name": "작은 라운드", "opens_on": "2025-04-21", "closes_on": "2025-09-16", "budget_krw": 100_000_000}
        assert (await client.put(url_for(loans, "/rounds/2025-1"), json=small, headers=OFFICER)).status_code == 200
        answers = await asyncio.gather(*[submit(client, loans, application_body(s, amount_krw=30_000_000)) for s in shops])
        final = [await settled(client, loans, a["id"], "awaiting_decision", "rejected") for a in answers]
        eligible = [a for a in final if a["status"] == "awaiting_decision"]
        assert len(eligible) == 3  # 3 × ₩30M fit in ₩100M, the fourth does not
        refused = [a for a in final if a["status"] == "rejected"]
        assert {tuple(f["rule"] for f in a["failed_rules"]) for a in refused} == {("round_budget",)}
        assert "₩10,000,000 left" in refused[0]["failed_rules"][0]["detail"]
        (round_1,) = [r for r in (await client.get(url_for(loans, "/rounds"), headers=STAFF)).json() if r["id"] == "2025-1"]
        assert (round_1["reserved_krw"], round_1["remaining_krw"]) == (90_000_000, 10_000_000)
        shrink = await client.put(url_for(loans, "/rounds/2025-1"), json={**small, "budget_krw": 80_000_000}, headers=OFFICER)
        assert shrink.status_code == 422 and shrink.json()["errors"][0]["field"] == "budget_krw"

        # Withdrawal and rejection give the budget back; the next application fits again.
        await client.post(url_for(loans, f"/applications/{eligible[0]['id']}/withdraw"), json={"reason": "취소"}, headers=STAFF)
        await client.post(url_for(loans, f"/applications/{eligible[1]['id']}/decision"),
                          json={"decision": "reject", "reasons": ["상환 계획 불충분"], "decided_on": "2025-05-30"}, headers=OFFICER)
        (round_1,) = [r for r in (await client.get(url_for(loans, "/rounds"), headers=STAFF)).json() if r["id"] == "2025-1"]
        assert round_1["reserved_krw"] == 30_000_000
        again = await submit(client, loans, application_body(refused[0]["business_id"], amount_krw=50_000_000))
        assert (await settled(client, loans, again["id"], "awaiting_decision"))["reserved_krw"] == 50_000_000

    conn = await stack.db()
    try:
        workers = await conn.fetchval("select count(distinct worker) from loans.screenings")
        assert await conn.fetchval("select reserved_krw from loans.fund_rounds where id = '2025-1'") == 80_000_000
    finally:
        await conn.close()
    assert workers >= 1


async def test_half_year_counts_by_program_and_status(stack):
    loans = await stack.start("loans")
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=60) as client:
        shops = [await upstream.business(wait=False) for _ in range(62)]
        await upstream.producer.flush()
        await known_to_loans(stack, *shops)
        bodies = [application_body(shops[i % 62], program="bank_cooperation", amount_krw=20_000_000, submitted_on=f"2025-{1 + i % 6:02d}-10")
                  for i in range(118)]
        bodies += [application_body(shops[i % 62], amount_krw=10_000_000, submitted_on=f"2025-{1 + i % 6:02d}-15") for i in range(130)]
        bodies.append(application_body(shops[0], submitted_on="2025-07-01"))  # H2: not counted
        gate = asyncio.Semaphore(16)

        async def post(body):
            async with gate:
                return await submit(client, loans, body)

        await asyncio.gather(*[post(b) for b in bodies])
        conn = await stack.db()
        try:
            await eventually(lambda: conn.fetchval("select count(*) = 249 from loans.screenings"), timeout=120, what="249 screenings")
        finally:
            await conn.close()
        report = (await client.get(url_for(loans, "/reports/applications"), params={"from": "2025-01-01", "to": "2025-06-30"}, headers=AUDITOR)).json()
    fund, bank = report["by_program"]
    assert (report["applications"], bank["applications"], fund["applications"]) == (248, 118, 130)
    assert (bank["program"], bank["requested_krw"], bank["by_status"]) == ("bank_cooperation", 118 * 20_000_000, {"awaiting_guarantee": 118})
    # Fund applications before the first round opened (21 April) are refused for round_open.
    assert fund["requested_krw"] == 1_300_000_000 and sum(fund["by_status"].values()) == 130
    assert fund["by_status"]["rejected"] == sum(1 for i in range(130) if 1 + i % 6 <= 4)
    assert json.dumps(report)  # plain JSON
