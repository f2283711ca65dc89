"""Repayment schedules in exact won: grace, equal principal instalments, truncated interest, subsidy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from loans.domain.schedule import add_months, monthly_interest, repayment_schedule


def test_fund_loan_thirty_million_one_year_grace_four_years():
    plan = repayment_schedule(30_000_000, "1.5", grace_months=12, instalments=48, disbursed_on=date(2025, 6, 2))
    assert len(plan.payments) == 60
    grace = plan.payments[:12]
    assert {(p.principal_krw, p.interest_krw, p.payable_krw, p.balance_after_krw) for p in grace} == {(0, 37_500, 37_500, 30_000_000)}
    first = plan.payments[12]
    assert (first.number, first.due_on, first.principal_krw, first.interest_krw, first.balance_after_krw) == (
        13, date(2026, 7, 2), 625_000, 37_500, 29_375_000)
    second = plan.payments[13]
    assert (second.principal_krw, second.interest_krw) == (625_000, 36_718)  # 29,375,000 × 1.5% ÷ 12 = 36,718.75 → 36,718
    last = plan.payments[-1]
    assert (last.number, last.due_on, last.principal_krw, last.interest_krw, last.balance_after_krw) == (60, date(2030, 6, 2), 625_000, 781, 0)
    assert plan.first_instalment_on == date(2026, 7, 2)
    assert sum(p.principal_krw for p in plan.payments) == 30_000_000
    # grace: 12 × 37,500 = 450,000. Instalment months: balance j × 625,000 (j = 48..1) gives
    # ⌊j × 781.25⌋ = 781j + ⌊j/4⌋; Σ 781j = 918,456 and Σ ⌊j/4⌋ = 276, so 918,732.
    assert plan.total_interest_krw == 450_000 + 918_732
    assert plan.total_subsidy_krw == 0 and plan.total_payable_krw == 30_000_000 + 1_368_732


def test_remainder_goes_to_the_last_instalment():
    plan = repayment_schedule(10_000_001, Decimal("1.5"), grace_months=0, instalments=3, disbursed_on=date(2025, 1, 31))
    assert [p.principal_krw for p in plan.payments] == [3_333_333, 3_333_333, 3_333_335]
    assert [p.due_on for p in plan.payments] == [date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)]
    assert [p.interest_krw for p in plan.payments] == [12_500, 8_333, 4_166]
    assert plan.first_instalment_on == date(2025, 2, 28)


def test_bank_cooperation_interest_subsidy_for_its_period():
    plan = repayment_schedule(
        20_000_000, "4.8", grace_months=12, instalments=48, disbursed_on=date(2025, 6, 2), subsidy_rate_pct="2.0", subsidy_months=24
    )
    month1, month13, month24, month25 = plan.payments[0], plan.payments[12], plan.payments[23], plan.payments[24]
    assert (month1.interest_krw, month1.subsidy_krw, month1.payable_krw) == (80_000, 33_333, 46_667)
    assert (month13.principal_krw, month13.interest_krw, month13.subsidy_krw, month13.payable_krw) == (416_666, 80_000, 33_333, 463_333)
    # month 24: balance 20,000,000 − 11 × 416,666 = 15,416,674
    assert (month24.interest_krw, month24.subsidy_krw) == (61_666, 25_694)
    assert month25.subsidy_krw == 0 and month25.payable_krw == month25.principal_krw + month25.interest_krw
    assert plan.payments[-1].principal_krw == 20_000_000 - 47 * 416_666
    assert plan.total_subsidy_krw == sum(p.subsidy_krw for p in plan.payments[:24])


def test_subsidy_never_exceeds_the_rate_and_helpers():
    plan = repayment_schedule(1_000_000, "1.0", grace_months=1, instalments=1, disbursed_on=date(2025, 1, 1), subsidy_rate_pct="3", subsidy_months=12)
    assert all(p.interest_krw == p.subsidy_krw for p in plan.payments)
    assert monthly_interest(1_000, Decimal("1.5")) == 1  # 1.25 → 1
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)
    with pytest.raises(ValueError):
        repayment_schedule(0, "1.5", grace_months=0, instalments=1, disbursed_on=date(2025, 1, 1))
