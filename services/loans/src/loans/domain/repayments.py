"""Repayments against a disbursed loan's schedule, and arrears: pure rules, no I/O.

How a repayment is applied: to the schedule's instalments in order, oldest first, each
instalment's interest (the borrower's share: interest − the district's subsidy) before its
principal. Paying more than is due pays the next instalments as the schedule has them
(선납); an early payoff with the interest recomputed (중도상환) is not modelled: the most one
repayment can be is what the schedule still asks for. The loan is repaid when its
outstanding principal reaches zero, which (interest first, instalments in order) is when
the whole schedule is paid.

Arrears: an instalment is missed when, at the end of its due date plus `grace_days`, the
repayments paid by then do not cover it and every instalment before it (amounts are
applied in order, so cumulative sums decide). A loan is in arrears on day D while an
instalment due before D − grace_days is not paid off by D. Which day D is — the Seoul
clock's today, or a repayment's own business date — is the caller's choice
(service_layer/repayments.py says which).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class Instalment:
    number: int
    due_on: date
    principal_krw: int
    interest_krw: int  # the borrower's share (interest − subsidy)

    @property
    def payable_krw(self) -> int:
        return self.principal_krw + self.interest_krw


@dataclass(frozen=True)
class Repayment:
    amount_krw: int
    paid_on: date


@dataclass(frozen=True)
class Allocation:
    """What one repayment paid: interest and principal parts."""

    interest_krw: int
    principal_krw: int


@dataclass(frozen=True)
class Missed:
    """An instalment whose due date (plus grace) passed unpaid."""

    instalment: Instalment
    in_arrears_on: date  # the first day it counts as missed
    overdue_krw: int  # what was overdue that day: this instalment's and earlier ones' unpaid amounts


@dataclass(frozen=True)
class Standing:
    """A loan's repayment position on a day."""

    as_of: date
    principal_krw: int
    paid_krw: int
    principal_paid_krw: int
    interest_paid_krw: int
    owed_krw: int  # what the schedule still asks for, due or not
    overdue_krw: int
    overdue_instalments: tuple[int, ...]
    next_due: Instalment | None  # the first instalment not fully paid

    @property
    def outstanding_principal_krw(self) -> int:
        return self.principal_krw - self.principal_paid_krw

    @property
    def repaid(self) -> bool:
        return self.outstanding_principal_krw == 0

    @property
    def in_arrears(self) -> bool:
        return self.overdue_krw > 0


class RepaymentRefused(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def instalments_of(schedule: dict[str, Any]) -> list[Instalment]:
    """The instalments of a stored schedule (domain/schedule.py's `as_json`)."""
    return [
        Instalment(p["number"], date.fromisoformat(p["due_on"]), p["principal_krw"], p["payable_krw"] - p["principal_krw"])
        for p in schedule["payments"]
    ]


def _cumulative(instalments: Sequence[Instalment]) -> list[int]:
    total, sums = 0, []
    for i in instalments:
        total += i.payable_krw
        sums.append(total)
    return sums


def allocate(instalments: Sequence[Instalment], paid_before_krw: int, amount_krw: int) -> Allocation:
    """The interest and principal parts of `amount_krw`, paid after `paid_before_krw` had been."""
    interest = principal = 0
    start, end = paid_before_krw, paid_before_krw + amount_krw
    position = 0
    for i in instalments:
        # This instalment occupies [position, position + interest) for interest, then its principal.
        for size, is_interest in ((i.interest_krw, True), (i.principal_krw, False)):
            low, high = max(start, position), min(end, position + size)
            if high > low:
                if is_interest:
                    interest += high - low
                else:
                    principal += high - low
            position += size
        if position >= end:
            break
    return Allocation(interest, principal)


def _paid_by(repayments: Iterable[Repayment], day: date) -> int:
    return sum(r.amount_krw for r in repayments if r.paid_on <= day)


def standing(principal_krw: int, instalments: Sequence[Instalment], repayments: Sequence[Repayment], as_of: date,
             *, grace_days: int = 0) -> Standing:
    """The loan on `as_of`, counting the repayments paid by then."""
    paid = _paid_by(repayments, as_of)
    parts = allocate(instalments, 0, paid)
    sums = _cumulative(instalments)
    overdue = [(i.number, through) for i, through in zip(instalments, sums, strict=True)
               if last_day_to_pay(i, grace_days) < as_of and through > paid]
    overdue_numbers = [number for number, _ in overdue]
    # Amounts are applied in order, so what is overdue is everything due through the last overdue instalment, less what was paid.
    overdue_krw = overdue[-1][1] - paid if overdue else 0
    next_due = next((i for i, through in zip(instalments, sums, strict=True) if through > paid), None)
    return Standing(
        as_of=as_of, principal_krw=principal_krw, paid_krw=paid, principal_paid_krw=parts.principal_krw,
        interest_paid_krw=parts.interest_krw, owed_krw=(sums[-1] if sums else 0) - paid, overdue_krw=overdue_krw,
        overdue_instalments=tuple(overdue_numbers), next_due=next_due,
    )


def last_day_to_pay(instalment: Instalment, grace_days: int = 0) -> date:
    return instalment.due_on + timedelta(days=grace_days)


def missed_instalments(instalments: Sequence[Instalment], repayments: Sequence[Repayment], as_of: date,
                       *, after_number: int = 0, grace_days: int = 0) -> list[Missed]:
    """Instalments numbered above `after_number` (those already announced) that were missed
    by `as_of`: their last day to pay (due date + grace) is before `as_of`, and the
    repayments paid by that day did not cover them."""
    ordered = sorted(repayments, key=lambda r: r.paid_on)
    days = [r.paid_on for r in ordered]
    paid_through = [0]
    for r in ordered:
        paid_through.append(paid_through[-1] + r.amount_krw)
    missed = []
    for i, through in zip(instalments, _cumulative(instalments), strict=True):
        last_day = last_day_to_pay(i, grace_days)
        if i.number <= after_number or last_day >= as_of:
            continue
        paid = paid_through[bisect_right(days, last_day)]  # what was paid on or before its last day
        if paid < through:
            missed.append(Missed(i, last_day + timedelta(days=1), through - paid))
    return missed


def check_repayment(principal_krw: int, instalments: Sequence[Instalment], recorded: Sequence[Repayment], new: Repayment,
                    *, disbursed_on: date, today: date) -> Allocation:
    """The parts of a new repayment, or RepaymentRefused naming the field at fault."""
    if new.amount_krw <= 0:
        raise RepaymentRefused("amount_krw", "must be positive")
    if new.paid_on > today:
        raise RepaymentRefused("paid_on", f"is in the future (today is {today.isoformat()} in Seoul)")
    if new.paid_on < disbursed_on:
        raise RepaymentRefused("paid_on", f"is before the disbursement on {disbursed_on.isoformat()}")
    if recorded and new.paid_on < (last := max(r.paid_on for r in recorded)):
        # Repayments are applied in the order they were paid: an earlier one recorded late would
        # rewrite what the later ones paid (and the events that said so).
        raise RepaymentRefused("paid_on", f"is before the last recorded repayment, paid on {last.isoformat()}")
    paid = sum(r.amount_krw for r in recorded)
    owed = sum(i.payable_krw for i in instalments) - paid
    if owed <= 0:
        raise RepaymentRefused("amount_krw", "the loan is repaid: nothing is owed")
    if new.amount_krw > owed:
        raise RepaymentRefused("amount_krw", f"₩{new.amount_krw:,} is more than the ₩{owed:,} the schedule still asks for")
    parts = allocate(instalments, paid, new.amount_krw)
    assert parts.interest_krw + parts.principal_krw == new.amount_krw
    return parts
