"""Repayments and arrears of disbursed loans: each handler runs in one unit of work, applies the
pure rules of loans.domain.repayments and emits LoanRepaymentRecorded, LoanRepaid and
LoanInArrears through the outbox.

How time advances for arrears. An instalment is missed when its due date plus
LOANS_ARREARS_GRACE_DAYS has passed unpaid. Two things look, both with the row locked, and
`arrears_checked_through` makes each instalment checked (and a miss announced) once:
- the arrears sweeper, in every consume replica every LOANS_ARREARS_SWEEP_INTERVAL_S, checks as
  of the service's Seoul today (SeoulClock, shifted only in tests);
- a repayment checks as of its own business date (`paid_on`) before it is applied, so a
  back-dated history (the demo's H1 2025, recorded later) announces the misses it shows on
  the dates they happened, whenever it is entered.
A read (GET /applications/{id}) computes the standing as of today and announces nothing.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.loans import LoanInArrears, LoanProgram, LoanRepaid, LoanRepaymentRecorded
from sangsaeng_common.errors import Conflict, NotFound, invalid
from sangsaeng_common.tx import Tx
from loans.adapters import repayments as store
from loans.adapters import repository
from loans.domain import repayments as rules
from loans.domain.states import Status
from loans.service_layer.commands import RecordRepayment

SWEEP_LIMIT = 200  # loans checked per sweep transaction


async def _announce_missed(tx: Tx, loan: asyncpg.Record, instalments: list[rules.Instalment], paid: list[rules.Repayment],
                           as_of: date, grace_days: int) -> None:
    """LoanInArrears for each instalment not checked yet that was missed by `as_of`; the check moves on past every instalment whose last day has passed."""
    checked = loan["arrears_checked_through"]
    for miss in rules.missed_instalments(instalments, paid, as_of, after_number=checked, grace_days=grace_days):
        outstanding = rules.standing(loan["approved_amount_krw"], instalments, paid, miss.in_arrears_on, grace_days=grace_days)
        await tx.emit(LoanInArrears(
            application_id=loan["id"], business_id=loan["business_id"], program=LoanProgram(loan["program"]),
            in_arrears_on=miss.in_arrears_on, instalment=miss.instalment.number, due_on=miss.instalment.due_on,
            overdue_krw=miss.overdue_krw, outstanding_principal_krw=outstanding.outstanding_principal_krw, noticed_on=as_of,
        ))
    passed = [i.number for i in instalments if i.number > checked and rules.last_day_to_pay(i, grace_days) < as_of]
    if passed:
        await store.set_checked_through(tx.conn, loan["id"], max(passed))


async def record_repayment(tx: Tx, cmd: RecordRepayment, clock: SeoulClock, *, grace_days: int) -> asyncpg.Record:
    loan = await repository.lock_application(tx.conn, cmd.application_id)
    if loan is None:
        raise NotFound("Application not found", f"no application {cmd.application_id}")
    if loan["status"] != Status.disbursed:
        raise Conflict(f"Application is {loan['status']}", f"only a disbursed loan is repaid; application {loan['id']} is {loan['status']}",
                       status_now=loan["status"])
    today = clock.today()
    paid_on = cmd.paid_on or today
    instalments = rules.instalments_of(loan["schedule"])
    recorded = await store.of_application(tx.conn, loan["id"])
    paid = store.as_domain(recorded)
    new = rules.Repayment(cmd.amount_krw, paid_on)
    try:
        parts = rules.check_repayment(loan["approved_amount_krw"], instalments, paid, new, disbursed_on=loan["disbursed_on"], today=today)
    except rules.RepaymentRefused as refused:
        raise invalid(refused.field, refused.message) from None
    await _announce_missed(tx, loan, instalments, paid, paid_on, grace_days)
    after = rules.standing(loan["approved_amount_krw"], instalments, [*paid, new], paid_on, grace_days=grace_days)
    row = await store.insert(
        tx.conn, application_id=loan["id"], business_id=loan["business_id"], position=len(recorded) + 1, paid_on=paid_on,
        amount_krw=new.amount_krw, principal_krw=parts.principal_krw, interest_krw=parts.interest_krw,
        outstanding_principal_krw=after.outstanding_principal_krw, recorded_by=cmd.recorded_by,
    )
    await store.set_position(tx.conn, loan["id"], outstanding_principal_krw=after.outstanding_principal_krw,
                             repaid_on=paid_on if after.repaid else None)
    program = LoanProgram(loan["program"])
    await tx.emit(LoanRepaymentRecorded(
        application_id=loan["id"], business_id=loan["business_id"], program=program, repayment_id=row["id"], paid_on=paid_on,
        amount_krw=new.amount_krw, principal_krw=parts.principal_krw, interest_krw=parts.interest_krw,
        outstanding_principal_krw=after.outstanding_principal_krw, overdue_krw=after.overdue_krw,
    ))
    if after.repaid:
        await tx.emit(LoanRepaid(application_id=loan["id"], business_id=loan["business_id"], program=program, repaid_on=paid_on,
                                 principal_krw=loan["approved_amount_krw"], repayments=len(recorded) + 1))
    return await repository.lock_application(tx.conn, loan["id"])


async def sweep_arrears(tx: Tx, clock: SeoulClock, *, grace_days: int, limit: int = SWEEP_LIMIT) -> int:
    """Check, as of today in Seoul, the loans whose next unchecked instalment's last day has
    passed; announce each miss once. Every consume replica sweeps; FOR UPDATE SKIP LOCKED gives
    each loan to one of them. Returns how many loans were checked."""
    today = clock.today()
    loans = await store.lock_due_for_arrears_check(tx.conn, today, grace_days, limit)
    for loan in loans:
        paid = store.as_domain(await store.of_application(tx.conn, loan["id"]))
        await _announce_missed(tx, loan, rules.instalments_of(loan["schedule"]), paid, today, grace_days)
    return len(loans)


async def position(conn: asyncpg.Connection, application: asyncpg.Record, today: date, *, grace_days: int) -> dict | None:
    """A disbursed loan's repayments and its standing today (None before disbursement)."""
    if application["status"] != Status.disbursed or application["schedule"] is None:
        return None
    recorded = await store.of_application(conn, application["id"])
    instalments = rules.instalments_of(application["schedule"])
    now = rules.standing(application["approved_amount_krw"], instalments, store.as_domain(recorded), today, grace_days=grace_days)
    return {
        "as_of": today,
        "outstanding_principal_krw": now.outstanding_principal_krw,
        "principal_repaid_krw": now.principal_paid_krw,
        "interest_paid_krw": now.interest_paid_krw,
        "owed_krw": now.owed_krw,
        "repaid_on": application["repaid_on"],
        "in_arrears": now.in_arrears,
        "overdue_krw": now.overdue_krw,
        "overdue_instalments": list(now.overdue_instalments),
        "arrears_grace_days": grace_days,
        "next_due": {"number": now.next_due.number, "due_on": now.next_due.due_on, "payable_krw": now.next_due.payable_krw}
        if now.next_due else None,
        "repayments": [dict(r) for r in recorded],
    }
