"""Loans' handlers: each runs one command (or reacts to one event) in one unit of work (an
HTTP command's, or the consumer's inbox transaction, `tx`), calls the domain rules, reads
and writes through the adapters and emits its events through the outbox (`tx.emit`). They
raise only domain errors (sangsaeng_common.errors); the entrypoints turn those into answers."""

from __future__ import annotations

import os
import socket
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import asyncpg

from sangsaeng_common import failpoints
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.loans import (
    GuaranteeRequested,
    GuaranteeTimedOut,
    LoanApproved,
    LoanDisbursed,
    FailedRule,
    LoanDraftCreated,
    LoanProgram,
    LoanRejected,
    LoanScreened,
    LoanSubmitted,
    LoanWithdrawn,
    RejectionReason,
    withdrawal_code_of_text,
)
from sangsaeng_common.contracts.referrals import ReferralCompleted, ReferralOutcome
from sangsaeng_common.contracts.intake import SupportRequested
from sangsaeng_common.contracts.visits import VisitRecorded
from sangsaeng_common.errors import Conflict, Invalid, NotFound, NotYetKnown, RuleBroken, invalid
from sangsaeng_common.logging import get_logger
from sangsaeng_common.pii import refuse_resident_numbers
from sangsaeng_common.tx import Tx
from loans.adapters import budget, directory, queries, repository
from loans.adapters.budget import BudgetClaims
from loans.domain import drafts, duties, eligibility, schedule
from loans.domain.eligibility import ApplicationFacts, ProgramTerms, RoundFacts
from loans.domain.states import Action, InvalidTransition, Status, next_status
from loans.service_layer.commands import Decide, Disburse, PutRound, ScreenApplication, SubmitApplication, SubmitDraft, Withdraw

log = get_logger(__name__)

WORKER = f"{socket.gethostname()}:{os.getpid()}"

SWEEP_LIMIT = 200  # guarantees moved per sweep transaction


def _not_in_future(field: str, value: date, today: date) -> None:
    if value > today:
        raise invalid(field, f"is in the future (today is {today.isoformat()} in Seoul)")


def _transition(row: asyncpg.Record, action: Action) -> Status:
    try:
        return next_status(row["status"], action)
    except InvalidTransition as exc:
        raise Conflict(f"Application is {row['status']}", str(exc), status_now=row["status"]) from None


async def _locked(tx: Tx, application_id: UUID) -> asyncpg.Record:
    row = await repository.lock_application(tx.conn, application_id)
    if row is None:
        raise NotFound("Application not found", f"no application {application_id}")
    return row


# ---------------------------------------------------------------- drafts (visits' and the desk's needs)


async def draft_from_visit(tx: Tx, event: VisitRecorded, clock: SeoulClock) -> UUID | None:
    """A visit that found a loan (or guarantee) need makes a draft for staff to complete."""
    return await _draft_from_needs(tx, event.business_id, event.needs_identified, clock, visit_id=event.visit_id)


async def draft_from_support_request(tx: Tx, event: SupportRequested, clock: SeoulClock) -> UUID | None:
    """A need the desk took down (a walk-in, a call) makes a draft by the same rule as a visit's."""
    return await _draft_from_needs(tx, event.business_id, event.needs, clock, support_request_id=event.request_id)


async def _draft_from_needs(
    tx: Tx, business_id: UUID, needs: list[Need], clock: SeoulClock, *, visit_id: UUID | None = None,
    support_request_id: UUID | None = None,
) -> UUID | None:
    """A draft, not a submitted application: the owner has not applied. One open draft per
    business is enough, whatever found the need (domain/drafts.py)."""
    proposal = drafts.draft_for(needs)
    if proposal is None:
        return None
    if await queries.has_open_draft(tx.conn, business_id):
        log.info("the business has an open loan draft already", business_id=str(business_id))
        return None
    # Whoever recorded the cause (the event's actor: the visit's planner, the desk's staff)
    # drafted it: they may not decide it (segregation of duties).
    application_id = await repository.create_draft(
        tx.conn, business_id, visit_id=visit_id, support_request_id=support_request_id,
        program=proposal.program.value if proposal.program else None, drafted_by=tx.actor,
    )
    if application_id is not None:
        await tx.emit(LoanDraftCreated(application_id=application_id, business_id=business_id, visit_id=visit_id,
                                       support_request_id=support_request_id, program=proposal.program, created_on=clock.today()))
    return application_id


# ---------------------------------------------------------------- submission (HTTP)


async def _check_submission(tx: Tx, business_id: UUID, submitted_on: date | None, today: date) -> date:
    submitted_on = submitted_on or today
    _not_in_future("submitted_on", submitted_on, today)
    erased = await directory.erased(tx.conn, business_id)
    if erased is None:
        # Not invalid input: intake's BusinessRegistered may simply not have arrived yet.
        raise NotYetKnown(
            "Business not known to loans yet",
            f"loans knows no business {business_id}: intake's event has not arrived yet (retry after Retry-After, with the same "
            "Idempotency-Key), or the business was never registered at intake",
            retry_after_s=1, field="business_id",
        )
    if erased:
        raise Conflict("Business erased", f"business {business_id} was erased on the owner's request")
    return submitted_on


def _submitted(row: asyncpg.Record) -> LoanSubmitted:
    return LoanSubmitted(
        application_id=row["id"], business_id=row["business_id"], program=LoanProgram(row["program"]), amount_krw=row["amount_krw"],
        purpose=row["purpose"], term_months=row["term_months"], submitted_on=row["submitted_on"],
    )


async def submit_application(tx: Tx, cmd: SubmitApplication, clock: SeoulClock) -> asyncpg.Record:
    submitted_on = await _check_submission(tx, cmd.business_id, cmd.submitted_on, clock.today())
    row = await repository.insert_submitted(
        tx.conn, business_id=cmd.business_id, program=cmd.program.value, amount_krw=cmd.amount_krw, purpose=cmd.purpose,
        term_months=cmd.term_months, documents=sorted(cmd.documents), submitted_on=submitted_on, submitted_by=cmd.submitted_by,
    )
    await tx.emit(_submitted(row))
    return row


async def submit_draft(tx: Tx, cmd: SubmitDraft, clock: SeoulClock) -> asyncpg.Record:
    draft = await _locked(tx, cmd.application_id)
    _transition(draft, Action.submit)
    if cmd.business_id is not None and cmd.business_id != draft["business_id"]:
        raise invalid("business_id", "is not the draft's business")
    submitted_on = await _check_submission(tx, draft["business_id"], cmd.submitted_on, clock.today())
    row = await repository.submit_draft(
        tx.conn, cmd.application_id, program=cmd.program.value, amount_krw=cmd.amount_krw, purpose=cmd.purpose,
        term_months=cmd.term_months, documents=sorted(cmd.documents), submitted_on=submitted_on, submitted_by=cmd.submitted_by,
    )
    await tx.emit(_submitted(row))
    return row


# ---------------------------------------------------------------- screening (consumer of LoanSubmitted)


async def eligibility_of(
    conn: asyncpg.Connection, application: asyncpg.Record
) -> tuple[ProgramTerms, ApplicationFacts, RoundFacts | None, list[FailedRule]]:
    """The rules on loans' facts of now (its directory's copy of the business): the program's
    terms, the application's facts, the round open on its submission day, and the rules failed.
    A screening and a screening again (the business's details changed) both ask this."""
    terms, dongs = await queries.load_terms(conn, application["program"])
    business = await directory.facts(conn, application["business_id"])
    repaying = (
        await queries.repaying_fund_loan(conn, application["business_id"], application["id"]) if terms.excludes_current_fund_borrowers else False
    )
    open_round = await queries.open_round(conn, terms.code, application["submitted_on"]) if terms.uses_rounds else None
    facts = ApplicationFacts(
        amount_krw=application["amount_krw"], purpose=application["purpose"], term_months=application["term_months"],
        documents=frozenset(application["documents"]), submitted_on=application["submitted_on"],
    )
    failed = list(eligibility.screen(facts, business, terms, district_dongs=dongs, open_round=open_round, repaying_fund_loan=repaying).failed)
    return terms, facts, open_round, failed


async def screen_application(tx: Tx, cmd: ScreenApplication, clock: SeoulClock, claims: BudgetClaims) -> None:
    """Screen one submitted application: the rules, then the budget, then the next step."""
    conn = tx.conn
    today = clock.today()
    application = await repository.lock_application(conn, cmd.application_id)
    if application is None:
        raise LookupError(f"LoanSubmitted for application {cmd.application_id}, which loans does not have")
    if application["status"] != Status.submitted:
        # Withdrawn before screening, or (replay of an old event) screened long ago.
        log.info("application not waiting for screening", application_id=str(cmd.application_id), status=application["status"])
        return
    terms, facts, open_round, failed = await eligibility_of(conn, application)
    reserved = 0
    if not failed and open_round is not None:
        if await claims.reserve(conn, application["id"], open_round.id, facts.amount_krw):
            reserved = facts.amount_krw
            failpoints.hit("loans.screen.after_claim")  # a screening failing for good after its claim (tests)
        else:
            failed.append(eligibility.budget_refused(open_round.id, facts.amount_krw, await budget.remaining(conn, open_round.id)))
    elif open_round is not None:
        await budget.release_claim(conn, application["id"])  # claimed by a screening that rolled back, refused now
    eligible = not failed
    if not eligible:
        action = Action.screen_ineligible
    elif terms.requires_guarantee:
        action = Action.screen_eligible_needs_guarantee
    else:
        action = Action.screen_eligible
    status = next_status(application["status"], action)
    # The guarantee is requested as of the application's own (business) date, not the wall
    # clock's: a back-dated application's referral belongs to the period it was made in.
    # (guarantee_requested_at, the timeout's start, stays the wall clock's: nobody waited before it.)
    requested_on = application["submitted_on"] or today
    failed_json = [f.model_dump() for f in failed]
    await repository.insert_screening(
        conn, application_id=application["id"], business_id=application["business_id"], eligible=eligible, failed_rules=failed_json,
        round_id=open_round.id if open_round else None, reserved_krw=reserved, event_id=cmd.event_id,
        kafka_partition=cmd.kafka_partition, kafka_offset=cmd.kafka_offset, worker=WORKER,
    )
    await repository.record_screening(
        conn, application["id"], status=status.value, screened_on=today, eligible=eligible, failed_rules=failed_json,
        round_id=open_round.id if open_round and reserved else None, reserved_krw=reserved,
        guarantee_requested_at=clock.now() if status == Status.awaiting_guarantee else None, guarantee_requested_on=requested_on,
    )
    program = LoanProgram(application["program"])
    await tx.emit(
        LoanScreened(
            application_id=application["id"], business_id=application["business_id"], program=program, eligible=eligible,
            failed_rules=failed, round_id=open_round.id if open_round else None, reserved_krw=reserved, screened_on=today,
        )
    )
    if not eligible:
        await tx.emit(
            LoanRejected(application_id=application["id"], business_id=application["business_id"], program=program,
                         reason_codes=_rule_codes(failed), rejected_on=today)
        )
    elif status == Status.awaiting_guarantee:
        await tx.emit(
            GuaranteeRequested(application_id=application["id"], business_id=application["business_id"],
                               amount_krw=application["amount_krw"], agency=terms.guarantee_agency or "SEOUL_CREDIT_GUARANTEE",
                               requested_on=requested_on)
        )


def _rule_codes(failed: list) -> list[RejectionReason]:
    """The failed rules as LoanRejected's codes (each rule once, in order)."""
    return list(dict.fromkeys(RejectionReason(f.rule) for f in failed))


# ---------------------------------------------------------------- the guarantee saga


async def guarantee_outcome(tx: Tx, event: ReferralCompleted, clock: SeoulClock) -> Status | None:
    """The foundation answered a guarantee referral: issued moves the application on to
    the loan officer (the guaranteed amount caps what can be approved), declined rejects it."""
    if event.application_id is None or event.outcome not in (ReferralOutcome.guarantee_issued, ReferralOutcome.guarantee_declined):
        return None  # not a guarantee answer for a loan application
    application = await repository.lock_application(tx.conn, event.application_id)
    if application is None:
        log.warning("guarantee outcome for an unknown application", application_id=str(event.application_id))
        return None
    action = Action.guarantee_issued if event.outcome == ReferralOutcome.guarantee_issued else Action.guarantee_declined
    try:
        status = next_status(application["status"], action)
    except InvalidTransition:
        # Withdrawn meanwhile, or a repeated answer: the application has moved on; keep the fact only.
        log.info("guarantee outcome after the application moved on", application_id=str(application["id"]), status=application["status"])
        await repository.keep_guarantee_referral(tx.conn, application["id"], event.referral_id)
        return None
    await repository.record_guarantee(
        tx.conn, application["id"], status=status.value, outcome=event.outcome.value, amount_krw=event.amount_krw, referral_id=event.referral_id
    )
    if status == Status.rejected:
        await budget.release_budget(tx.conn, application)
        await tx.emit(LoanRejected(application_id=application["id"], business_id=application["business_id"],
                                   program=LoanProgram(application["program"]), reason_codes=[RejectionReason.guarantee_declined],
                                   rejected_on=clock.today()))
    return status


async def sweep_overdue_guarantees(tx: Tx, clock: SeoulClock, timeout_days: float, limit: int = SWEEP_LIMIT) -> int:
    """Move applications that waited for their guarantee longer than the timeout to
    guarantee_overdue (staff see them: GET /applications?status=guarantee_overdue).

    Every consumer replica sweeps; FOR UPDATE SKIP LOCKED gives each overdue row to one
    of them, and the status condition makes a second pass find nothing: one event each."""
    cutoff = clock.now() - timedelta(days=timeout_days)
    rows = await repository.lock_overdue_guarantees(tx.conn, cutoff, limit)
    today = clock.today()
    for row in rows:
        status = next_status(row["status"], Action.guarantee_timed_out)
        await repository.time_out_guarantee(tx.conn, row["id"], status.value, today)
        await tx.emit(GuaranteeTimedOut(application_id=row["id"], business_id=row["business_id"], requested_on=row["guarantee_requested_on"],
                                        timed_out_on=today, timeout_days=timeout_days))
    return len(rows)


async def release_orphaned_claims(tx: Tx, older_than_s: float, limit: int = SWEEP_LIMIT) -> int:
    """Give back the budget claims of screenings that failed for good after claiming
    (adapters/budget.release_orphaned_claims says why that is safe)."""
    rows = await budget.release_orphaned_claims(tx.conn, older_than_s, limit)
    for row in rows:
        log.warning("orphaned budget claim given back", application_id=str(row["application_id"]), round_id=row["round_id"],
                    amount_krw=row["amount_krw"])
    return len(rows)


# ---------------------------------------------------------------- decisions and money (HTTP)


def _refuse_own_application(application: asyncpg.Record, actor: str, doing: str) -> None:
    why = duties.refusal(actor, doing, submitted_by=application["submitted_by"], drafted_by=application["drafted_by"])
    if why is not None:
        raise RuleBroken(duties.SEGREGATION_OF_DUTIES, why)


async def decide(tx: Tx, cmd: Decide, clock: SeoulClock) -> asyncpg.Record:
    application = await _locked(tx, cmd.application_id)
    _refuse_own_application(application, cmd.decided_by, "decide")
    program = LoanProgram(application["program"]) if application["program"] else None
    today = clock.today()
    decided_on = cmd.decided_on or today
    _not_in_future("decided_on", decided_on, today)
    if application["submitted_on"] and decided_on < application["submitted_on"]:
        raise invalid("decided_on", f"is before the submission on {application['submitted_on'].isoformat()}")
    # One field for every reason: a resident number in any of them refuses "reasons".
    refuse_resident_numbers({"reasons": "\n".join(cmd.reasons)})
    reasons = list(cmd.reasons)
    if cmd.decision == "reject":
        status = _transition(application, Action.reject)
        if not reasons:
            raise invalid("reasons", "a rejection needs at least one reason")
        await budget.release_budget(tx.conn, application)
        row = await repository.reject(tx.conn, cmd.application_id, status=status.value, decided_on=decided_on, decided_by=cmd.decided_by,
                                      reasons=reasons)
        # The officer's words stay in applications.decision_reasons (blanked on erasure).
        await tx.emit(LoanRejected(application_id=cmd.application_id, business_id=row["business_id"], program=program,
                                   reason_codes=[RejectionReason.officer_decision], rejected_on=decided_on))
        return row
    status = _transition(application, Action.approve)
    amount = cmd.amount_krw or application["amount_krw"]
    terms, _ = await queries.load_terms(tx.conn, application["program"])
    business = await directory.facts(tx.conn, application["business_id"])
    errors: list[tuple[str, str]] = []
    if amount > application["amount_krw"]:
        errors.append(("amount_krw", f"₩{amount:,} is more than the ₩{application['amount_krw']:,} asked for"))
    if business is not None and amount > (limit := eligibility.limit_for(terms, business)):
        errors.append(("amount_krw", f"₩{amount:,} is above the program's limit of ₩{limit:,} for this business"))
    if application["guarantee_amount_krw"] is not None and amount > application["guarantee_amount_krw"]:
        errors.append(("amount_krw", f"₩{amount:,} is above the guaranteed ₩{application['guarantee_amount_krw']:,}"))
    if errors:
        raise Invalid(errors)
    await budget.release_budget(tx.conn, application, keep_krw=min(amount, application["reserved_krw"]))
    row = await repository.approve(tx.conn, cmd.application_id, status=status.value, decided_on=decided_on, decided_by=cmd.decided_by,
                                   amount_krw=amount, reasons=reasons or None)
    await tx.emit(LoanApproved(application_id=cmd.application_id, business_id=row["business_id"], program=program, amount_krw=amount,
                               approved_on=decided_on))
    return row


async def disburse(tx: Tx, cmd: Disburse, clock: SeoulClock) -> asyncpg.Record:
    application = await _locked(tx, cmd.application_id)
    _refuse_own_application(application, cmd.disbursed_by, "disburse")
    status = _transition(application, Action.disburse)
    today = clock.today()
    disbursed_on = cmd.disbursed_on or today
    _not_in_future("disbursed_on", disbursed_on, today)
    if application["decided_on"] and disbursed_on < application["decided_on"]:
        raise invalid("disbursed_on", f"is before the approval on {application['decided_on'].isoformat()}")
    terms, _ = await queries.load_terms(tx.conn, application["program"])
    if terms.annual_rate_pct is not None:
        if cmd.annual_rate_pct is not None and Decimal(cmd.annual_rate_pct) != terms.annual_rate_pct:
            raise invalid("annual_rate_pct", f"the program's rate is fixed at {terms.annual_rate_pct}%")
        rate = terms.annual_rate_pct
    elif cmd.annual_rate_pct is None:
        raise invalid("annual_rate_pct", "give the partner bank's annual rate for a bank-cooperation loan")
    else:
        rate = Decimal(cmd.annual_rate_pct)
    plan = schedule.repayment_schedule(
        application["approved_amount_krw"], rate, grace_months=terms.grace_months, instalments=terms.instalments,
        disbursed_on=disbursed_on, subsidy_rate_pct=terms.subsidy_rate_pct, subsidy_months=terms.subsidy_months,
    )
    row = await repository.disburse(tx.conn, cmd.application_id, status=status.value, disbursed_on=disbursed_on, annual_rate_pct=rate,
                                    schedule=plan.as_json(), disbursed_by=cmd.disbursed_by)
    await tx.emit(
        LoanDisbursed(
            application_id=cmd.application_id, business_id=row["business_id"], program=LoanProgram(row["program"]),
            amount_krw=row["approved_amount_krw"], disbursed_on=disbursed_on, annual_rate_pct=float(rate),
            grace_months=terms.grace_months, instalments=terms.instalments, first_instalment_on=plan.first_instalment_on,
            subsidy_rate_pct=float(plan.subsidy_rate_pct) if plan.subsidy_months else None,
            subsidy_months=plan.subsidy_months or None,
        )
    )
    return row


async def withdraw(tx: Tx, cmd: Withdraw, clock: SeoulClock) -> asyncpg.Record:
    application = await _locked(tx, cmd.application_id)
    status = _transition(application, Action.withdraw)
    refuse_resident_numbers({"reason": cmd.reason})
    today = clock.today()
    await budget.release_budget(tx.conn, application)
    await budget.release_claim(tx.conn, cmd.application_id)  # claimed by a screening that rolled back
    row = await repository.withdraw(tx.conn, cmd.application_id, status=status.value, withdrawn_on=today, reason=cmd.reason)
    # The words stay in applications.withdraw_reason (blanked on erasure); the event carries the code.
    reason_code = cmd.reason_code or withdrawal_code_of_text(cmd.reason)
    await tx.emit(LoanWithdrawn(application_id=cmd.application_id, business_id=row["business_id"], reason_code=reason_code,
                                withdrawn_on=today))
    return row


# ---------------------------------------------------------------- fund rounds (data, loan officer)


def _check_round_id(round_id: str) -> None:
    if not (1 <= len(round_id) <= 40) or not round_id.replace("-", "").isalnum():
        raise invalid("round_id", "1 to 40 letters, digits and hyphens")


async def put_round(tx: Tx, cmd: PutRound) -> asyncpg.Record:
    """Create a round or change its dates and budget. A budget below what is already
    reserved is refused (it would break the promise made to screened applications)."""
    _check_round_id(cmd.round_id)
    if cmd.closes_on is not None and cmd.closes_on < cmd.opens_on:
        raise invalid("closes_on", "is before opens_on")
    if not await queries.program_uses_rounds(tx.conn, cmd.program.value):
        raise invalid("program", f"{cmd.program.value} does not lend from fund rounds")
    existing = await repository.lock_round(tx.conn, cmd.round_id)
    if existing is not None and cmd.budget_krw < existing["reserved_krw"]:
        raise invalid("budget_krw", f"₩{existing['reserved_krw']:,} is already reserved from this round")
    if existing is not None and existing["program"] != cmd.program.value:
        raise invalid("program", f"round {cmd.round_id} belongs to {existing['program']}")
    return await repository.put_round(
        tx.conn, cmd.round_id, program=cmd.program.value, name=cmd.name, opens_on=cmd.opens_on, closes_on=cmd.closes_on, budget_krw=cmd.budget_krw
    )

