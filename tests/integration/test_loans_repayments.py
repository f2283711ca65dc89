"""Repayments of disbursed loans against the real broker and PostgreSQL: repayments until
LoanRepaid, the fund exclusion reading the real state (repaying excludes, repaid no longer
does), missed instalments announced once each (LoanInArrears) by a late repayment as of its
business date and by the arrears sweeper as of the Seoul today, refusals naming the field,
and the outstanding principal per program in the report."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx

from sangsaeng_common.clock import SEOUL
from loans.domain.schedule import add_months
from tests.integration.loans_helpers import Upstream, application, application_body, known_to_loans, loan_events, of_type, settled, submit
from tests.support import AUDITOR, eventually, headers_for, url_for

OFFICER = headers_for("L-3001")
DESK = headers_for("S-1001")
FUND_INTEREST = 37_500  # a month's interest on ₩30M at 1.5% (the fund's grace months)


async def _disbursed(client: httpx.AsyncClient, loans, business_id: uuid.UUID, disbursed_on: str | None = None) -> dict:
    app = await submit(client, loans, application_body(business_id))
    await settled(client, loans, app["id"], "awaiting_decision")
    decided = await client.post(url_for(loans, f"/applications/{app['id']}/decision"),
                                json={"decision": "approve", "decided_on": "2025-05-30"}, headers=OFFICER)
    assert decided.status_code == 200, decided.text
    paid = await client.post(url_for(loans, f"/applications/{app['id']}/disbursement"),
                             json={"disbursed_on": disbursed_on} if disbursed_on else {}, headers=OFFICER)
    assert paid.status_code == 200, paid.text
    return paid.json()


async def _rules_failed(client: httpx.AsyncClient, loans, business_id: uuid.UUID, submitted_on: str) -> list[str]:
    app = await submit(client, loans, application_body(business_id, amount_krw=10_000_000, submitted_on=submitted_on))
    screened = await settled(client, loans, app["id"], "awaiting_decision", "rejected")
    return [f["rule"] for f in screened["failed_rules"]]


async def test_repayments_until_repaid_lift_the_fund_exclusion_and_refuse_bad_input(stack):
    loans = await stack.start("loans")
    today = datetime.now(SEOUL).date()
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        shop, other_shop = await upstream.business(), await upstream.business()
        await known_to_loans(stack, shop, other_shop)
        loan = await _disbursed(client, loans, shop)  # disbursed today: nothing is due yet
        repay = url_for(loans, f"/applications/{loan['id']}/repayments")
        assert (loan["outstanding_principal_krw"], loan["repaid_on"]) == (30_000_000, None)

        # Bad input names its field; only loan officers and staff record repayments; only a disbursed loan is repaid.
        for body, field in [({"amount_krw": 0}, "amount_krw"), ({"amount_krw": 1.5}, "amount_krw"),
                            ({"amount_krw": 1000, "paid_on": (today + timedelta(days=1)).isoformat()}, "paid_on"),
                            ({"amount_krw": 1000, "paid_on": "2025-01-01"}, "paid_on"),
                            ({"amount_krw": 999_999_999}, "amount_krw"), ({"amount_krw": 1000, "memo": "x"}, "memo")]:
            refused = await client.post(repay, json=body, headers=OFFICER)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["errors"][0]["field"] == field, (body, refused.json())
        assert (await client.post(repay, json={"amount_krw": 1000}, headers=AUDITOR)).status_code == 403
        assert (await client.post(repay, json={"amount_krw": 1000})).status_code == 401
        other = await submit(client, loans, application_body(other_shop))
        not_lent = await client.post(url_for(loans, f"/applications/{other['id']}/repayments"), json={"amount_krw": 1000}, headers=DESK)
        assert not_lent.status_code == 409 and not_lent.json()["status_now"] in ("submitted", "awaiting_decision", "rejected")

        # Repaying a fund loan: the business's next fund application is refused.
        assert await _rules_failed(client, loans, shop, "2025-06-10") == ["already_repaying_fund_loan"]

        # The first month's interest, recorded twice with one Idempotency-Key: one repayment.
        key = {**DESK, "Idempotency-Key": "shop-repay-1"}
        first, again = [await client.post(repay, json={"amount_krw": FUND_INTEREST}, headers=key) for _ in range(2)]
        assert first.status_code == 200, first.text
        assert again.json() == first.json()
        position = first.json()["repayment"]
        assert (position["outstanding_principal_krw"], position["interest_paid_krw"], position["in_arrears"]) == (30_000_000, FUND_INTEREST, False)
        assert [(r["position"], r["amount_krw"], r["principal_krw"], r["recorded_by"]) for r in position["repayments"]] == [
            (1, FUND_INTEREST, 0, "S-1001")]
        assert position["next_due"]["number"] == 2

        # The rest at once: principal reaches zero.
        rest = position["owed_krw"]
        done = await client.post(repay, json={"amount_krw": rest}, headers=OFFICER)
        assert done.status_code == 200, done.text
        assert (done.json()["outstanding_principal_krw"], done.json()["repaid_on"]) == (0, today.isoformat())
        shown = await application(client, loans, loan["id"])
        assert shown["repayment"]["owed_krw"] == 0 and shown["repayment"]["next_due"] is None
        assert len(shown["repayment"]["repayments"]) == 2 and len(shown["schedule"]["payments"]) == 60
        nothing_owed = await client.post(repay, json={"amount_krw": 1}, headers=OFFICER)
        assert nothing_owed.status_code == 422 and "repaid" in nothing_owed.json()["errors"][0]["message"]

        # Repaid: the same business may borrow from the fund again.
        assert await _rules_failed(client, loans, shop, "2025-06-11") == []

    events = await loan_events(stack.bootstrap_servers)
    recorded = of_type(events, "LoanRepaymentRecorded", loan["id"])
    assert [(e["amount_krw"], e["principal_krw"], e["interest_krw"], e["outstanding_principal_krw"], e["overdue_krw"]) for e in recorded] == [
        (FUND_INTEREST, 0, FUND_INTEREST, 30_000_000, 0), (rest, 30_000_000, rest - 30_000_000, 0, 0)]
    (repaid,) = of_type(events, "LoanRepaid", loan["id"])
    assert (repaid["principal_krw"], repaid["repaid_on"], repaid["repayments"]) == (30_000_000, today.isoformat(), 2)
    assert of_type(events, "LoanInArrears", loan["id"]) == []
    actors = {h["ce_actor"] for h, d in events if d.get("repayment_id")}
    assert actors == {"S-1001", "L-3001"}


async def test_missed_instalments_are_announced_once_by_a_late_repayment_and_by_the_sweeper(stack):
    # One hour between sweeps: after the first (at start, before any loan exists) only repayments announce misses.
    loans = await stack.start("loans")
    audit = await stack.start("audit")
    today = datetime.now(SEOUL).date()
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        late, recent = await upstream.business(), await upstream.business()
        await known_to_loans(stack, late, recent)
        old = await _disbursed(client, loans, late, "2025-06-02")  # instalments due on the 2nd from July 2025
        # Instalment 1 (a month after) is past due, instalment 2 is not.
        lent_on = today - timedelta(days=45)
        new = await _disbursed(client, loans, recent, lent_on.isoformat())

        # A repayment paid on 10 September 2025 shows July's, August's and September's instalments were missed.
        behind = await client.post(url_for(loans, f"/applications/{old['id']}/repayments"),
                                   json={"amount_krw": FUND_INTEREST, "paid_on": "2025-09-10"}, headers=OFFICER)
        assert behind.status_code == 200, behind.text
        events = await loan_events(stack.bootstrap_servers)
        misses = of_type(events, "LoanInArrears", old["id"])
        assert [(m["instalment"], m["due_on"], m["in_arrears_on"], m["overdue_krw"], m["noticed_on"]) for m in misses] == [
            (1, "2025-07-02", "2025-07-03", 37_500, "2025-09-10"), (2, "2025-08-02", "2025-08-03", 75_000, "2025-09-10"),
            (3, "2025-09-02", "2025-09-03", 112_500, "2025-09-10")]
        (recorded,) = of_type(events, "LoanRepaymentRecorded", old["id"])
        assert (recorded["overdue_krw"], recorded["outstanding_principal_krw"]) == (75_000, 30_000_000)
        assert of_type(events, "LoanInArrears", new["id"]) == []

        # The report: the book on a day counts loans disbursed by then, less principal repaid by then.
        report = url_for(loans, "/reports/applications")
        end_2025 = (await client.get(report, params={"from": "2025-01-01", "to": "2025-12-31"}, headers=AUDITOR)).json()
        fund = end_2025["by_program"][0]
        assert (fund["program"], fund["outstanding_principal_krw"], fund["loans_outstanding"], fund["principal_repaid_krw"]) == (
            "sme_development_fund", 30_000_000, 1, 0)
        now = (await client.get(report, params={"from": "2025-01-01", "to": today.isoformat()}, headers=AUDITOR)).json()
        assert (now["outstanding_principal_krw"], now["by_program"][0]["loans_outstanding"], now["by_program"][1]["outstanding_principal_krw"]) == (
            60_000_000, 2, 0)

        # A consumer replica sweeping every second checks both loans as of today: every missed instalment once.
        await stack.start("loans", "consume", LOANS_ARREARS_SWEEP_INTERVAL_S="1")
        old_due = [n for n in range(1, 61) if add_months(datetime(2025, 6, 2).date(), n) < today]

        async def all_announced() -> list | None:
            found = await loan_events(stack.bootstrap_servers)
            announced = [m["instalment"] for m in of_type(found, "LoanInArrears", old["id"])]
            return found if len(announced) >= len(old_due) and of_type(found, "LoanInArrears", new["id"]) else None

        events = await eventually(all_announced, timeout=60, what="the sweeper's LoanInArrears")
        assert [m["instalment"] for m in of_type(events, "LoanInArrears", old["id"])] == old_due
        (first_missed,) = of_type(events, "LoanInArrears", new["id"])
        due = add_months(lent_on, 1)
        assert (first_missed["instalment"], first_missed["due_on"], first_missed["in_arrears_on"], first_missed["noticed_on"]) == (
            1, due.isoformat(), (due + timedelta(days=1)).isoformat(), today.isoformat())

        # Read as of today: in arrears; paying what is overdue makes it current again.
        shown = (await application(client, loans, new["id"]))["repayment"]
        assert (shown["in_arrears"], shown["overdue_instalments"], shown["overdue_krw"]) == (True, [1], FUND_INTEREST)
        caught_up = await client.post(url_for(loans, f"/applications/{new['id']}/repayments"), json={"amount_krw": FUND_INTEREST},
                                      headers=DESK)
        assert caught_up.status_code == 200, caught_up.text
        assert (caught_up.json()["repayment"]["in_arrears"], caught_up.json()["repayment"]["overdue_krw"]) == (False, 0)
        # The center's report from the ledger: the book when 2025H2 closed, by business dates (the loan lent in 2026 is not in it).
        async def book() -> dict | None:
            report = (await client.get(url_for(audit, "/reports/2025H2"), headers=AUDITOR)).json()
            fund = report["loans"]["book"]["by_program"].get("sme_development_fund")
            return report["loans"]["book"] if fund and fund["loans_with_missed_instalments"] else None

        assert await eventually(book, timeout=60, what="the ledger's loan book") == {
            "until": "2026-01-01", "outstanding_principal_krw": 30_000_000,
            "by_program": {"sme_development_fund": {"outstanding_principal_krw": 30_000_000, "loans_outstanding": 1, "principal_repaid_krw": 0,
                                                    "loans_with_missed_instalments": 1}}}
    events = await loan_events(stack.bootstrap_servers)
    assert of_type(events, "LoanRepaymentRecorded", new["id"])[0]["overdue_krw"] == 0
    assert len(of_type(events, "LoanInArrears", new["id"])) == 1  # the repayment announced nothing new
