"""The demo's plan: deterministic, the center's figures, valid data."""

from __future__ import annotations

from collections import Counter

from sangsaeng_demo.plan import (
    DONGS,
    FUND_BUDGET_KRW,
    H1_END,
    H1_START,
    RegistrationNumbers,
    check_digit,
    make_plan,
)


def test_check_digit_matches_the_reference_examples():
    assert check_digit("220816251") == 7  # 220-81-62517
    assert check_digit("124810099") == 8  # 124-81-00998


def test_registration_numbers_are_valid_and_never_repeat():
    numbers = RegistrationNumbers(2025)
    made = [numbers.next() for _ in range(20_000)]
    assert len(set(made)) == len(made)
    assert all(len(n) == 10 and check_digit(n[:9]) == int(n[9]) for n in made)
    assert all(1 <= int(n[3:5]) <= 79 or n[3:5] == "81" for n in made)


def test_the_plan_has_the_centers_figures():
    plan = make_plan(2025)
    visited = [s for s in plan.shops if s.visits]
    assert len(visited) == 4500
    assert Counter(loan.program for loan in plan.loans) == {"bank_cooperation": 118, "sme_development_fund": 130}
    assert len({loan.shop for loan in plan.loans}) == 248
    assert set(s.dong for s in plan.shops) == set(DONGS)
    visits = [v for s in plan.shops for v in s.visits]
    assert all(H1_START <= v.requested_on <= v.visited_on <= H1_END for v in visits)
    assert all(H1_START <= loan.submitted_on <= H1_END for loan in plan.loans)
    assert sum(loan.amount_krw for loan in plan.loans if loan.program == "sme_development_fund") <= FUND_BUDGET_KRW


def test_applications_follow_their_visit_and_mostly_fit_the_rules():
    plan = make_plan(2025)
    for loan in plan.loans:
        shop = plan.shops[loan.shop]
        if loan.via_visit:
            assert shop.visits[0].visited_on < loan.submitted_on and "loan" in shop.visits[0].needs_identified
        assert loan.decided_on >= loan.submitted_on and loan.disbursed_on >= loan.decided_on
    fund = [loan for loan in plan.loans if loan.program == "sme_development_fund"]
    assert sum(loan.submitted_on >= __import__("datetime").date(2025, 4, 21) for loan in fund) > 0.9 * len(fund)
    # Most applicants registered well over six months before applying; some too recently.
    young = sum(1 for loan in plan.loans if (loan.submitted_on - plan.shops[loan.shop].registered_on).days < 183)
    assert 0 < young < 0.15 * len(plan.loans)


def test_the_same_seed_makes_the_same_half_year():
    a, b, c = make_plan(11, shops=80, bank=6, fund=7), make_plan(11, shops=80, bank=6, fund=7), make_plan(12, shops=80, bank=6, fund=7)
    assert a.shops == b.shops and a.loans == b.loans
    assert a.shops != c.shops


def test_repayments_pay_the_half_years_instalments_in_order_a_few_late():
    plan = make_plan(2025)
    lent = [loan for loan in plan.loans if loan.disbursed_in_period]
    planned = {loan.seq: plan.repayments(loan) for loan in lent}
    assert planned == {loan.seq: plan.repayments(loan) for loan in lent}  # deterministic
    assert all(not plan.repayments(loan) for loan in plan.loans if not loan.disbursed_in_period)
    for loan in lent:
        rows = planned[loan.seq]
        assert [r.instalment for r in rows] == list(range(1, len(rows) + 1))
        assert all(loan.disbursed_on < r.due_on <= H1_END for r in rows)
        assert all(a.paid_on < b.paid_on for a, b in zip(rows, rows[1:]))  # in the order paid
        assert sum(r.late for r in rows) <= 1
        assert all(7 <= (r.paid_on - r.due_on).days <= 16 if r.late else 0 <= (r.due_on - r.paid_on).days <= 4 for r in rows)
        assert all(r.paid_on.weekday() < 5 for r in rows)  # at the desk, on workdays
        assert {r.by for r in rows} <= {"S-1001", "S-1002", "L-3001", "L-3002"}
    late = sum(1 for rows in planned.values() if any(r.late for r in rows))
    assert 0 < late < len(lent) * 0.35


def test_a_few_shops_without_a_loan_change_their_employees():
    plan = make_plan(2025)
    changed = [s for s in plan.shops if s.employees_later is not None]
    assert 50 < len(changed) < 300
    assert all(s.loan is None and s.employees_later >= 0 and s.employees_later != s.employees for s in changed)
