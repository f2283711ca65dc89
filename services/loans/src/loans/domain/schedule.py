"""Repayment schedules: grace months of interest only, then equal principal instalments
(원금균등분할상환) with interest on the remaining balance.

Rounding (in whole won, as banks do): each month's interest is the balance before that
month's payment × annual rate ÷ 12, truncated (원 미만 절사). Each principal instalment is
⌊principal ÷ instalments⌋; the last one also takes the remainder, so the instalments add
up to the principal exactly. The district's interest subsidy (이차보전, bank cooperation) is
computed the same way with the subsidy's percentage points (at most the rate itself), for
the first `subsidy_months` months, and the borrower pays interest − subsidy.
Payment dates are monthly from the disbursement day (the 31st falls back to the month's
last day).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal


@dataclass(frozen=True)
class Payment:
    number: int
    due_on: date
    principal_krw: int
    interest_krw: int
    subsidy_krw: int
    payable_krw: int  # principal + interest − subsidy: what the borrower pays
    balance_after_krw: int


@dataclass(frozen=True)
class Schedule:
    principal_krw: int
    annual_rate_pct: Decimal
    grace_months: int
    instalments: int
    subsidy_rate_pct: Decimal
    subsidy_months: int
    payments: list[Payment]

    @property
    def first_instalment_on(self) -> date:
        return self.payments[self.grace_months].due_on

    @property
    def total_interest_krw(self) -> int:
        return sum(p.interest_krw for p in self.payments)

    @property
    def total_subsidy_krw(self) -> int:
        return sum(p.subsidy_krw for p in self.payments)

    @property
    def total_payable_krw(self) -> int:
        return sum(p.payable_krw for p in self.payments)

    def as_json(self) -> dict:
        return {
            "principal_krw": self.principal_krw,
            "annual_rate_pct": str(self.annual_rate_pct),
            "grace_months": self.grace_months,
            "instalments": self.instalments,
            "subsidy_rate_pct": str(self.subsidy_rate_pct),
            "subsidy_months": self.subsidy_months,
            "first_instalment_on": self.first_instalment_on.isoformat(),
            "total_interest_krw": self.total_interest_krw,
            "total_subsidy_krw": self.total_subsidy_krw,
            "total_payable_krw": self.total_payable_krw,
            "rounding": "monthly interest = balance × rate ÷ 12, truncated to the won; last instalment takes the remainder",
            "payments": [
                {
                    "number": p.number, "due_on": p.due_on.isoformat(), "principal_krw": p.principal_krw,
                    "interest_krw": p.interest_krw, "subsidy_krw": p.subsidy_krw, "payable_krw": p.payable_krw,
                    "balance_after_krw": p.balance_after_krw,
                }
                for p in self.payments
            ],
        }


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def monthly_interest(balance_krw: int, annual_rate_pct: Decimal) -> int:
    return int((Decimal(balance_krw) * annual_rate_pct / Decimal(1200)).to_integral_value(rounding=ROUND_DOWN))


def repayment_schedule(
    principal_krw: int,
    annual_rate_pct: Decimal | str,
    *,
    grace_months: int,
    instalments: int,
    disbursed_on: date,
    subsidy_rate_pct: Decimal | str | None = None,
    subsidy_months: int | None = None,
) -> Schedule:
    if principal_krw <= 0 or instalments <= 0 or grace_months < 0:
        raise ValueError("principal and instalments must be positive, grace not negative")
    rate = Decimal(str(annual_rate_pct))
    subsidy_rate = min(Decimal(str(subsidy_rate_pct or 0)), rate)
    subsidy_for = subsidy_months or 0
    base = principal_krw // instalments
    balance = principal_krw
    payments: list[Payment] = []
    for number in range(1, grace_months + instalments + 1):
        interest = monthly_interest(balance, rate)
        subsidy = monthly_interest(balance, subsidy_rate) if number <= subsidy_for else 0
        if number <= grace_months:
            principal = 0
        elif number < grace_months + instalments:
            principal = base
        else:
            principal = balance  # the last instalment: base + the remainder
        balance -= principal
        payments.append(Payment(number, add_months(disbursed_on, number), principal, interest, subsidy,
                                principal + interest - subsidy, balance))
    return Schedule(principal_krw, rate, grace_months, instalments, subsidy_rate, subsidy_for, payments)
