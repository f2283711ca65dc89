"""Repayments against the schedule and arrears: allocation in order (interest before principal),
outstanding principal, repaid at zero, missed instalments by their due date, refusals by field."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from loans.domain.repayments import (
    Allocation,
    Instalment,
    Repayment,
    RepaymentRefused,
    allocate,
    check_repayment,
    instalments_of,
    missed_instalments,
    standing,
)
from loans.domain.schedule import repayment_schedule

DISBURSED = date(2025, 6, 2)
# ₩30M of the fund: 12 months of ₩37,500 interest, then 48 instalments of ₩625,000 principal.
PLAN = repayment_schedule(30_000_000, "1.5", grace_months=12, instalments=48, disbursed_on=DISBURSED)
INSTALMENTS = instalments_of(PLAN.as_json())
TOTAL = PLAN.total_payable_krw


def test_the_stored_schedule_reads_back_as_instalments_with_the_borrowers_interest():
    assert len(INSTALMENTS) == 60 and INSTALMENTS[0] == Instalment(1, date(2025, 7, 2), 0, 37_500)
    assert INSTALMENTS[12] == Instalment(13, date(2026, 7, 2), 625_000, 37_500)
    bank = repayment_schedule(20_000_000, "4.8", grace_months=12, instalments=48, disbursed_on=DISBURSED,
                              subsidy_rate_pct="2.0", subsidy_months=24)
    first = instalments_of(bank.as_json())[0]
    assert first.interest_krw == 80_000 - 33_333  # the district's subsidy is not the borrower's to pay


def test_a_repayment_pays_interest_before_principal_instalment_by_instalment():
    # Instalment 13 is 37,500 interest then 625,000 principal; 12 grace months (450,000) are paid before it.
    assert allocate(INSTALMENTS, 0, 37_500) == Allocation(interest_krw=37_500, principal_krw=0)
    assert allocate(INSTALMENTS, 450_000, 100_000).__dict__ == {"interest_krw": 37_500, "principal_krw": 62_500}
    assert allocate(INSTALMENTS, 450_000 + 100_000, 600_000).__dict__ == {"interest_krw": 36_718, "principal_krw": 600_000 - 36_718}
    everything = allocate(INSTALMENTS, 0, TOTAL)
    assert (everything.principal_krw, everything.interest_krw) == (30_000_000, PLAN.total_interest_krw)


def test_paying_on_time_keeps_the_loan_current_and_the_last_payment_repays_it():
    on_time = [Repayment(i.payable_krw, i.due_on) for i in INSTALMENTS[:13]]
    now = standing(30_000_000, INSTALMENTS, on_time, date(2026, 7, 10))
    assert (now.outstanding_principal_krw, now.in_arrears, now.overdue_instalments) == (29_375_000, False, ())
    assert now.next_due == INSTALMENTS[13] and now.owed_krw == TOTAL - sum(r.amount_krw for r in on_time)
    assert missed_instalments(INSTALMENTS, on_time, date(2026, 7, 10)) == []
    rest = Repayment(now.owed_krw, date(2026, 7, 10))
    parts = check_repayment(30_000_000, INSTALMENTS, on_time, rest, disbursed_on=DISBURSED, today=date(2026, 7, 10))
    assert parts.principal_krw == 29_375_000
    done = standing(30_000_000, INSTALMENTS, [*on_time, rest], date(2026, 7, 10))
    assert (done.repaid, done.outstanding_principal_krw, done.owed_krw, done.next_due, done.in_arrears) == (True, 0, 0, None, False)


def test_an_instalment_is_missed_the_day_after_its_due_date_unless_grace_days_are_given():
    due = INSTALMENTS[0].due_on  # 2025-07-02
    assert missed_instalments(INSTALMENTS, [], due) == []  # the due date itself has not passed
    (missed,) = missed_instalments(INSTALMENTS, [], due + timedelta(days=1))
    assert (missed.instalment.number, missed.in_arrears_on, missed.overdue_krw) == (1, date(2025, 7, 3), 37_500)
    assert missed_instalments(INSTALMENTS, [], due + timedelta(days=5), grace_days=5) == []
    (late,) = missed_instalments(INSTALMENTS, [], due + timedelta(days=6), grace_days=5)
    assert late.in_arrears_on == date(2025, 7, 8)
    # Paid on the due date: not missed; paid a day late: missed all the same (it was unpaid when its day passed).
    assert missed_instalments(INSTALMENTS, [Repayment(37_500, due)], date(2025, 7, 20)) == []
    assert [m.instalment.number for m in missed_instalments(INSTALMENTS, [Repayment(37_500, due + timedelta(days=1))],
                                                             date(2025, 7, 20))] == [1]


def test_missed_instalments_accumulate_and_announced_ones_are_not_repeated():
    as_of = date(2025, 10, 1)  # instalments 1-3 (due 2 Jul, 2 Aug, 2 Sep) are past due, 2 Oct not yet
    part = [Repayment(37_500, date(2025, 7, 1)), Repayment(10_000, date(2025, 8, 1))]
    missed = missed_instalments(INSTALMENTS, part, as_of)
    assert [(m.instalment.number, m.overdue_krw) for m in missed] == [(2, 27_500), (3, 65_000)]
    assert [m.instalment.number for m in missed_instalments(INSTALMENTS, part, as_of, after_number=2)] == [3]
    now = standing(30_000_000, INSTALMENTS, part, as_of)
    assert (now.in_arrears, now.overdue_instalments, now.overdue_krw, now.outstanding_principal_krw) == (True, (2, 3), 65_000, 30_000_000)
    assert now.next_due == INSTALMENTS[1]
    caught_up = standing(30_000_000, INSTALMENTS, [*part, Repayment(65_000, as_of)], as_of)
    assert (caught_up.in_arrears, caught_up.overdue_krw, caught_up.next_due) == (False, 0, INSTALMENTS[3])
    # A standing is as of its day: repayments paid later do not count yet.
    assert standing(30_000_000, INSTALMENTS, [*part, Repayment(65_000, as_of)], date(2025, 9, 30)).overdue_krw == 65_000


@pytest.mark.parametrize(
    ("new", "recorded", "field", "words"),
    [
        (Repayment(0, date(2025, 7, 2)), [], "amount_krw", "positive"),
        (Repayment(37_500, date(2025, 12, 2)), [], "paid_on", "future"),
        (Repayment(37_500, date(2025, 6, 1)), [], "paid_on", "before the disbursement"),
        (Repayment(37_500, date(2025, 7, 2)), [Repayment(37_500, date(2025, 8, 2))], "paid_on", "last recorded repayment"),
        (Repayment(TOTAL + 1, date(2025, 7, 2)), [], "amount_krw", "still asks for"),
        (Repayment(1, date(2025, 8, 2)), [Repayment(TOTAL, date(2025, 7, 2))], "amount_krw", "repaid"),
    ],
)
def test_a_repayment_is_refused_naming_its_field(new, recorded, field, words):
    with pytest.raises(RepaymentRefused) as refused:
        check_repayment(30_000_000, INSTALMENTS, recorded, new, disbursed_on=DISBURSED, today=date(2025, 11, 30))
    assert refused.value.field == field and words in refused.value.message
