"""Loans over HTTP and events: programs as data, submission, screening with every failed rule
named, decisions within the limit, disbursement with its schedule, withdrawal, counts."""

from __future__ import annotations

import json
import asyncio
import uuid
from datetime import date

import httpx

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.intake import BusinessRegistered, Stage
from tests.integration.loans_helpers import (
    OFFICER, Upstream, application_body, known_to_loans, loan_events, of_type, settled, submit,
)
from tests.support import AUDITOR, STAFF, assert_refused_by_rule, check_paging, eventually, headers_for, url_for


async def test_programs_are_data_with_rounds_terms_and_excluded_industries(stack):
    loans = await stack.start("loans")
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(url_for(loans, "/programs"))).status_code == 401
        programs = (await client.get(url_for(loans, "/programs"), headers=AUDITOR)).json()
        fund, bank = programs
        assert (fund["code"], fund["name"], fund["annual_rate_pct"], fund["grace_months"], fund["instalments"]) == (
            "sme_development_fund", "중소기업육성기금", "1.500", 12, 48)
        assert (fund["limit_micro_krw"], fund["limit_sme_krw"], fund["min_months_since_registration"]) == (50_000_000, 100_000_000, 6)
        assert fund["excludes_current_fund_borrowers"] and fund["requires_district"] and fund["allowed_purposes"] == ["operating"]
        assert {"주점", "부동산", "숙박", "금융", "보험"} <= set(fund["excluded_industries"])
        assert len(fund["district_dongs"]) == 16 and "이문2동" in fund["district_dongs"]
        assert [(r["id"], r["opens_on"], r["budget_krw"], r["remaining_krw"]) for r in fund["rounds"]] == [
            ("2025-1", "2025-04-21", 3_000_000_000, 3_000_000_000), ("2025-2", "2025-09-17", 3_000_000_000, 3_000_000_000)]
        assert (bank["code"], bank["money_from"], bank["annual_rate_pct"], bank["requires_guarantee"], bank["guarantee_agency"]) == (
            "bank_cooperation", "partner_bank", None, True, "SEOUL_CREDIT_GUARANTEE")
        assert (bank["subsidy_rate_pct"], bank["subsidy_months"], bank["partner_bank"], bank["rounds"]) == ("2.000", 24, "협약 시중은행", [])

        # Rounds are data the loan officer keeps: a 2026 round, and budgets changed without a deploy.
        new_round = {"name": "2026년 상반기", "opens_on": "2026-04-20", "closes_on": "2026-09-15", "budget_krw": 3_200_000_000}
        assert (await client.put(url_for(loans, "/rounds/2026-1"), json=new_round, headers=STAFF)).status_code == 403
        put = await client.put(url_for(loans, "/rounds/2026-1"), json=new_round, headers=OFFICER)
        assert put.status_code == 200 and put.json()["remaining_krw"] == 3_200_000_000
        bad = await client.put(url_for(loans, "/rounds/2026-1"), json={**new_round, "closes_on": "2026-01-01"}, headers=OFFICER)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "closes_on"
        bank_round = await client.put(url_for(loans, "/rounds/b-1"), json={**new_round, "program": "bank_cooperation"}, headers=OFFICER)
        assert bank_round.status_code == 422 and bank_round.json()["errors"][0]["field"] == "program"
        rounds = (await client.get(url_for(loans, "/rounds"), headers=STAFF)).json()
        assert [r["id"] for r in rounds] == ["2025-1", "2025-2", "2026-1"]
        docs = (await client.get(url_for(loans, "/openapi.json"))).json()
        assert docs["components"]["schemas"]["ApplicationIn"]["examples"][0]["amount_krw"] == 30_000_000


async def test_an_application_for_a_business_loans_has_not_heard_of_is_retryable_not_invalid(stack):
    """Intake's BusinessRegistered may not have reached loans yet: 503 with Retry-After (retry,
    same key), never 422 "invalid request"; once the event is there, the same retry is accepted."""
    loans = await stack.start("loans")
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        business_id = uuid.uuid4()
        key = {**STAFF, "Idempotency-Key": "before-intake-event"}
        early = await client.post(url_for(loans, "/applications"), json=application_body(business_id), headers=key)
        assert early.status_code == 503, early.text
        assert early.headers["content-type"] == "application/problem+json"
        assert int(early.headers["retry-after"]) >= 1
        assert early.json()["field"] == "business_id" and str(business_id) in early.json()["detail"]
        docs = (await client.get(url_for(loans, "/openapi.json"))).json()
        answer = docs["paths"]["/applications"]["post"]["responses"]["503"]
        assert "not heard of the business" in answer["description"] and "Retry-After" in answer["headers"]

        await upstream.publish(
            BusinessRegistered(business_id=business_id, registration_number=None, name="늦게 온 가게", dong="제기동", industry="음식점업",
                               employees=2, is_micro_business=True, stage=Stage.operating, registered_on=date(2023, 3, 2)))
        await known_to_loans(stack, business_id)
        later = await client.post(url_for(loans, "/applications"), json=application_body(business_id), headers=key)
        assert later.status_code == 201, later.text
        assert later.json()["business_id"] == str(business_id)


async def test_submission_screening_decision_disbursement_and_withdrawal(stack):
    loans = await stack.start("loans")
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        shop = await upstream.business()
        sme = await upstream.business(micro=False, dong="용신동")
        bar = await upstream.business(dong="강남동", industry="일반 유흥 주점업", registered_on=__import__("datetime").date(2025, 3, 1))
        closed = await upstream.business(stage=Stage.closed)
        await known_to_loans(stack, shop, sme, bar, closed)

        # Validation, roles and idempotency.
        refused = {
            "amount_krw": application_body(shop, amount_krw=30_000_000.5),
            "program": application_body(shop, program="city_fund"),
            "submitted_on": application_body(shop, submitted_on="2999-01-01"),
            "documents.0": application_body(shop, documents=["selfie"]),
        }
        for field, body in refused.items():
            response = await client.post(url_for(loans, "/applications"), json=body, headers=STAFF)
            assert response.status_code == 422, (field, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"][0]["field"] == field, field
        assert (await client.post(url_for(loans, "/applications"), json=application_body(shop), headers=AUDITOR)).status_code == 403
        key = {"Idempotency-Key": "shop-fund-0502"}
        answers = await asyncio.gather(*[client.post(url_for(loans, "/applications"), json=application_body(shop), headers={**STAFF, **key})
                                         for _ in range(3)])
        assert [a.status_code for a in answers] == [201] * 3 and len({a.json()["id"] for a in answers}) == 1
        first = answers[0].json()
        assert (first["status"], first["amount_krw"], first["program"]) == ("submitted", 30_000_000, "sme_development_fund")

        # Screening: eligible, reserved from the round that was open on the submission day.
        screened = await settled(client, loans, first["id"], "awaiting_decision")
        assert (screened["eligible"], screened["failed_rules"], screened["round_id"], screened["reserved_krw"]) == (True, [], "2025-1", 30_000_000)

        # Every failed rule is named, and the application is rejected at once.
        bad = await submit(client, loans, application_body(bar, amount_krw=60_000_000, purpose="facility", term_months=84, documents=[]))
        rejected = await settled(client, loans, bad["id"], "rejected")
        assert [f["rule"] for f in rejected["failed_rules"]] == [
            "place_of_business_in_district", "min_months_since_registration", "excluded_industry", "amount_within_limit",
            "purpose_allowed", "term_within_program", "documents_complete"]
        assert rejected["reserved_krw"] == 0 and rejected["round_id"] is None
        early = await submit(client, loans, application_body(closed, submitted_on="2025-03-10"))
        assert [f["rule"] for f in (await settled(client, loans, early["id"], "rejected"))["failed_rules"]] == ["business_operating", "round_open"]

        # Decisions: never above the limit (₩100M for an SME) or the amount asked.
        big = await submit(client, loans, application_body(sme, amount_krw=100_000_000))
        await settled(client, loans, big["id"], "awaiting_decision")
        decide = url_for(loans, f"/applications/{big['id']}/decision")
        over = await client.post(decide, json={"decision": "approve", "amount_krw": 100_000_001}, headers=OFFICER)
        assert over.status_code == 422 and over.json()["errors"][0]["field"] == "amount_krw"
        assert (await client.post(decide, json={"decision": "approve"}, headers=STAFF)).status_code == 403
        no_reason = await client.post(decide, json={"decision": "reject"}, headers=OFFICER)
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reasons"
        approved = await client.post(decide, json={"decision": "approve", "amount_krw": 80_000_000, "decided_on": "2025-05-30"},
                                     headers=OFFICER)
        assert approved.status_code == 200 and (approved.json()["status"], approved.json()["approved_amount_krw"]) == ("approved", 80_000_000)
        assert approved.json()["reserved_krw"] == 80_000_000  # the ₩20M not lent went back to the round
        again = await client.post(decide, json={"decision": "reject", "reasons": ["재심사"]}, headers=OFFICER)
        assert again.status_code == 409 and again.json()["status_now"] == "approved"

        # Disbursement computes the schedule; the fund's rate is fixed by its terms.
        disburse = url_for(loans, f"/applications/{big['id']}/disbursement")
        wrong_rate = await client.post(disburse, json={"disbursed_on": "2025-06-02", "annual_rate_pct": "3.0"}, headers=OFFICER)
        assert wrong_rate.status_code == 422 and wrong_rate.json()["errors"][0]["field"] == "annual_rate_pct"
        paid = await client.post(disburse, json={"disbursed_on": "2025-06-02"}, headers={**OFFICER, "Idempotency-Key": "pay-big"})
        assert paid.status_code == 200, paid.text
        plan = paid.json()["schedule"]
        assert (plan["principal_krw"], plan["grace_months"], plan["instalments"], plan["first_instalment_on"]) == (80_000_000, 12, 48, "2026-07-02")
        assert plan["payments"][0] == {"number": 1, "due_on": "2025-07-02", "principal_krw": 0, "interest_krw": 100_000, "subsidy_krw": 0,
                                       "payable_krw": 100_000, "balance_after_krw": 80_000_000}
        assert plan["payments"][12]["principal_krw"] == 1_666_666 and plan["payments"][-1]["balance_after_krw"] == 0
        assert (await client.post(disburse, json={"disbursed_on": "2025-06-02"}, headers={**OFFICER, "Idempotency-Key": "pay-big"})).json() == paid.json()
        listed = (await client.get(url_for(loans, "/applications"), params={"business_id": str(sme)}, headers=AUDITOR)).json()
        assert [(a["status"], a["schedule"]) for a in listed] == [("disbursed", None)]  # the list leaves schedules out

        # Now repaying a fund loan: the next fund application of that business is refused.
        second = await submit(client, loans, application_body(sme, amount_krw=10_000_000, submitted_on="2025-06-10"))
        assert [f["rule"] for f in (await settled(client, loans, second["id"], "rejected"))["failed_rules"]] == ["already_repaying_fund_loan"]

        # Withdrawal releases the reservation; a final application cannot be withdrawn.
        withdraw = url_for(loans, f"/applications/{first['id']}/withdraw")
        assert (await client.post(withdraw, json={"reason": "다른 자금 확보"}, headers=OFFICER)).status_code == 403
        gone = await client.post(withdraw, json={"reason": "다른 자금 확보"}, headers=STAFF)
        assert gone.status_code == 200 and (gone.json()["status"], gone.json()["reserved_krw"]) == ("withdrawn", 0)
        assert (await client.post(withdraw, json={"reason": "again"}, headers=STAFF)).status_code == 409
        round_1 = [r for r in (await client.get(url_for(loans, "/rounds"), headers=STAFF)).json() if r["id"] == "2025-1"][0]
        assert round_1["reserved_krw"] == 80_000_000  # only the disbursed loan holds budget
        assert (await client.get(url_for(loans, "/applications/00000000-0000-0000-0000-000000000009"), headers=STAFF)).status_code == 404
        overdue = (await client.get(url_for(loans, "/applications"), params={"status": "rejected"}, headers=STAFF)).json()
        assert {a["id"] for a in overdue} == {bad["id"], early["id"], second["id"]}

        report = (await client.get(url_for(loans, "/reports/applications"), params={"from": "2025-01-01", "to": "2025-06-30"}, headers=AUDITOR)).json()
        fund = report["by_program"][0]
        assert (report["applications"], fund["applications"], fund["by_status"]) == (5, 5, {"disbursed": 1, "rejected": 3, "withdrawn": 1})
        assert (fund["approved_krw"], fund["disbursed_krw"]) == (80_000_000, 80_000_000)

    events = await loan_events(stack.bootstrap_servers)
    assert len(of_type(events, "LoanSubmitted", first["id"])) == 1
    (screened_event,) = of_type(events, "LoanScreened", first["id"])
    assert (screened_event["eligible"], screened_event["round_id"], screened_event["reserved_krw"]) == (True, "2025-1", 30_000_000)
    (bad_rejection,) = of_type(events, "LoanRejected", bad["id"])
    assert bad_rejection["reason_codes"][0] == "place_of_business_in_district" and len(bad_rejection["reason_codes"]) == 7
    (disbursed,) = of_type(events, "LoanDisbursed", big["id"])
    assert (disbursed["amount_krw"], disbursed["annual_rate_pct"], disbursed["first_instalment_on"], disbursed["subsidy_months"]) == (
        80_000_000, 1.5, "2026-07-02", None)
    assert of_type(events, "LoanApproved", big["id"])[0]["amount_krw"] == 80_000_000
    (withdrawn_event,) = of_type(events, "LoanWithdrawn", first["id"])
    assert withdrawn_event["reason_code"] == "other" and "다른 자금 확보" not in json.dumps(withdrawn_event, ensure_ascii=False)
    headers = [h for h, d in events if d.get("application_id") == first["id"]]
    assert {h["ce_subject"] for h in headers} == {str(shop)} and {h["ce_source"] for h in headers} == {"/sangsaeng/loans"}


async def test_segregation_of_duties_whoever_submitted_or_drafted_an_application_neither_decides_nor_disburses_it(stack):
    loans = await stack.start("loans")
    l3001, l3002, s1001 = headers_for("L-3001"), headers_for("L-3002"), headers_for("S-1001")
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        shop, visited = await upstream.business(), await upstream.business()
        # A visit recorded by L-3001 (a person holding both duties at the identity provider) drafts an application.
        await upstream.visit(visited, Need.loan, actor="L-3001")
        await known_to_loans(stack, shop, visited)

        # L-3001 takes the application at the desk: L-3001 may then neither decide nor disburse it.
        taken = await client.post(url_for(loans, "/applications"), json=application_body(shop), headers=l3001)
        assert taken.status_code == 201 and taken.json()["submitted_by"] == "L-3001", taken.text
        await settled(client, loans, taken.json()["id"], "awaiting_decision")
        decide = url_for(loans, f"/applications/{taken.json()['id']}/decision")
        for decision in ({"decision": "approve"}, {"decision": "reject", "reasons": ["서류 미비"]}):
            problem = assert_refused_by_rule(await client.post(decide, json=decision, headers=l3001), "segregation_of_duties")
            assert "L-3001 submitted this application" in problem["detail"]
        approved = await client.post(decide, json={"decision": "approve", "decided_on": "2025-05-30"}, headers=l3002)
        assert approved.status_code == 200 and approved.json()["decided_by"] == "L-3002", approved.text
        disburse = url_for(loans, f"/applications/{taken.json()['id']}/disbursement")
        assert_refused_by_rule(await client.post(disburse, json={"disbursed_on": "2025-06-02"}, headers=l3001), "segregation_of_duties")
        paid = await client.post(disburse, json={"disbursed_on": "2025-06-02"}, headers=l3002)  # the decider may disburse
        assert paid.status_code == 200 and (paid.json()["status"], paid.json()["disbursed_by"]) == ("disbursed", "L-3002"), paid.text

        # The draft is L-3001's though staff submit it: L-3001 may not decide it.
        async def drafted() -> list[dict]:
            return (await client.get(url_for(loans, "/applications"), params={"business_id": str(visited)}, headers=STAFF)).json()

        (draft,) = await eventually(drafted, what="the visit's draft")
        assert draft["drafted_by"] == "L-3001"
        body = {k: v for k, v in application_body(visited).items() if k != "business_id"}
        submitted = await client.post(url_for(loans, f"/applications/{draft['id']}/submit"), json=body, headers=s1001)
        assert submitted.status_code == 200 and submitted.json()["submitted_by"] == "S-1001", submitted.text
        await settled(client, loans, draft["id"], "awaiting_decision")
        decide_draft = url_for(loans, f"/applications/{draft['id']}/decision")
        problem = assert_refused_by_rule(await client.post(decide_draft, json={"decision": "approve"}, headers=l3001), "segregation_of_duties")
        assert "L-3001 drafted this application" in problem["detail"]
        rejected = await client.post(decide_draft, json={"decision": "reject", "reasons": ["상환 능력 부족"]}, headers=l3002)
        assert rejected.status_code == 200 and rejected.json()["decided_by"] == "L-3002"

    # Each event names who acted: the submitter, the decider, the disburser; the draft its visit's recorder.
    events = await loan_events(stack.bootstrap_servers)
    actors = {(h["ce_type"].split(".")[2], d["application_id"]): h.get("ce_actor") for h, d in events}
    application_id = taken.json()["id"]
    assert [actors[(name, application_id)] for name in ("LoanSubmitted", "LoanApproved", "LoanDisbursed")] == ["L-3001", "L-3002", "L-3002"]
    assert actors[("LoanScreened", application_id)] == "L-3001"  # screening follows the submission: its cause's actor
    assert [actors[(name, draft["id"])] for name in ("LoanDraftCreated", "LoanSubmitted", "LoanRejected")] == ["L-3001", "S-1001", "L-3002"]


async def test_applications_list_pages_with_a_cursor(stack):
    loans = await stack.start("loans")
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        shops = [await upstream.business() for _ in range(5)]
        await known_to_loans(stack, *shops)
        for shop in shops:
            await submit(client, loans, application_body(shop, amount_krw=10_000_000))
        listed = await check_paging(client, url_for(loans, "/applications"), params={}, headers=STAFF, expected=5)
        assert {a["business_id"] for a in listed} == {str(s) for s in shops}
