"""Commands: each runs in one unit of work (an HTTP command's, or the consumer's inbox
transaction) and emits its events through the outbox (`tx.emit`)."""

from __future__ import annotations

import json
import os
import socket
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

import asyncpg
import uuid6

from sangsaeng_common.handlers import EventContext
from sangsaeng_common.contracts import Event
from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, BusinessStageChanged
from sangsaeng_common.contracts.loans import (
    FailedRule,
    GuaranteeRequested,
    GuaranteeTimedOut,
    LoanApproved,
    LoanDisbursed,
    LoanDraftCreated,
    LoanProgram,
    LoanRejected,
    LoanScreened,
    LoanSubmitted,
    LoanWithdrawn,
)
from sangsaeng_common.contracts.referrals import ReferralCompleted, ReferralOutcome
from sangsaeng_common.contracts.visits import VisitRecorded
from sangsaeng_common.envelope import Envelope
from sangsaeng_common.http import Problem
from sangsaeng_common.logging import get_logger
from sangsaeng_common.pii import contains_resident_number
from sangsaeng_common.unit_of_work import UnitOfWork
from loans import budget
from loans.config import LoansSettings
from loans.domain import eligibility, schedule
from loans.domain.eligibility import ApplicationFacts, BusinessFacts, ProgramTerms, RoundFacts
from loans.domain.states import Action, InvalidTransition, Status, next_status
from loans.models import ApplicationIn, DecisionIn, DisbursementIn, RoundIn, SubmitDraftIn, WithdrawIn

log = get_logger(__name__)

WORKER = f"{socket.gethostname()}:{os.getpid()}"


class Tx(Protocol):
    """A transaction that can emit events: a UnitOfWork or a consumer's EventContext."""

    @property
    def conn(self) -> asyncpg.Connection: ...

    async def emit(self, event: Event) -> Envelope: ...


def invalid(errors: list[tuple[str, str]]) -> Problem:
    """422 naming every offending field (the shape of Problem.invalid)."""
    return Problem(
        422, "Invalid request", "; ".join(f"{f}: {m}" for f, m in errors), errors=[{"field": f, "message": m} for f, m in errors]
    )


# ---------------------------------------------------------------- program terms (data)


def _terms(row: asyncpg.Record) -> ProgramTerms:
    return ProgramTerms(
        code=row["code"], annual_rate_pct=row["annual_rate_pct"], grace_months=row["grace_months"],
        instalments=row["instalments"], max_term_months=row["max_term_months"], limit_micro_krw=row["limit_micro_krw"],
        limit_sme_krw=row["limit_sme_krw"], min_months_since_registration=row["min_months_since_registration"],
        requires_district=row["requires_district"], excludes_current_fund_borrowers=row["excludes_current_fund_borrowers"],
        uses_rounds=row["uses_rounds"], requires_guarantee=row["requires_guarantee"], guarantee_agency=row["guarantee_agency"],
        subsidy_rate_pct=row["subsidy_rate_pct"], subsidy_months=row["subsidy_months"],
        allowed_purposes=frozenset(row["allowed_purposes"]), required_documents=tuple(row["required_documents"]),
        excluded_industries=frozenset(row["excluded"]),
    )


async def load_terms(conn: asyncpg.Connection, program: str) -> tuple[ProgramTerms, frozenset[str]]:
    """The program's terms and the district's dongs, in one round trip."""
    row = await conn.fetchrow(
        """select p.*, array(select industry from program_excluded_industries where program = p.code) as excluded,
                  array(select dong from district_dongs) as dongs
           from programs p where p.code = $1""",
        program,
    )
    if row is None:
        raise LookupError(f"no program {program}")
    return _terms(row), frozenset(row["dongs"])


async def _business_facts(conn: asyncpg.Connection, business_id: UUID) -> BusinessFacts | None:
    row = await conn.fetchrow("select * from businesses where id = $1", business_id)
    if row is None:
        return None
    return BusinessFacts(row["dong"], row["industry"], row["is_micro_business"], row["stage"], row["registered_on"], row["erased_at"] is not None)


# ---------------------------------------------------------------- business facts (intake's events)


async def remember_business(ctx: EventContext, event: BusinessRegistered) -> None:
    await ctx.conn.execute(
        """insert into businesses (id, dong, industry, employees, is_micro_business, stage, registered_on)
           values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (id) do update set dong = excluded.dong, industry = excluded.industry, employees = excluded.employees,
               is_micro_business = excluded.is_micro_business, stage = excluded.stage, registered_on = excluded.registered_on,
               updated_at = now()""",
        event.business_id, event.dong, event.industry, event.employees, event.is_micro_business, event.stage.value, event.registered_on,
    )


async def follow_stage(ctx: EventContext, event: BusinessStageChanged) -> None:
    await ctx.conn.execute("update businesses set stage = $2, updated_at = now() where id = $1", event.business_id, event.to_stage.value)


async def erase_business(ctx: EventContext, event: BusinessErased) -> None:
    """Loans holds no names or numbers; it blanks the free text it keeps (withdrawal reasons)
    and marks the business erased, which makes new screenings fail `business_known`."""
    await ctx.conn.execute("update businesses set erased_at = $2, updated_at = now() where id = $1", event.business_id, event.erased_at)
    await ctx.conn.execute(
        "update applications set withdraw_reason = case when withdraw_reason is null then null else '(삭제됨)' end, updated_at = now() where business_id = $1",
        event.business_id,
    )


# ---------------------------------------------------------------- drafts (visits' events)


async def draft_from_visit(tx: Tx, event: VisitRecorded, today: date) -> UUID | None:
    """A visit that found a loan need makes a draft for staff to complete (not a submitted
    application: the owner has not applied). One open draft per business is enough."""
    if Need.loan not in event.needs_identified:
        return None
    if await tx.conn.fetchval("select 1 from applications where business_id = $1 and status = 'draft'", event.business_id):
        log.info("the business has an open loan draft already", business_id=str(event.business_id))
        return None
    application_id = await tx.conn.fetchval(
        """insert into applications (id, business_id, status, origin, visit_id)
           values ($1, $2, 'draft', 'visit', $3) on conflict (visit_id) do nothing returning id""",
        uuid6.uuid7(), event.business_id, event.visit_id,
    )
    if application_id is not None:
        await tx.emit(LoanDraftCreated(application_id=application_id, business_id=event.business_id, visit_id=event.visit_id, created_on=today))
    return application_id


# ---------------------------------------------------------------- submission (HTTP)


async def _check_submission(tx: Tx, business_id: UUID, body: ApplicationIn, today: date) -> date:
    submitted_on = body.submitted_on or today
    if submitted_on > today:
        raise Problem.invalid("submitted_on", f"is in the future (today is {today.isoformat()} in Seoul)")
    business = await tx.conn.fetchrow("select id, erased_at from businesses where id = $1", business_id)
    if business is None:
        raise Problem.invalid("business_id", f"loans knows no business {business_id} (unknown, or intake's event has not arrived yet)")
    if business["erased_at"] is not None:
        raise Problem(409, "Business erased", f"business {business_id} was erased on the owner's request")
    return submitted_on


def _submitted(row: asyncpg.Record) -> LoanSubmitted:
    return LoanSubmitted(
        application_id=row["id"], business_id=row["business_id"], program=LoanProgram(row["program"]), amount_krw=row["amount_krw"],
        purpose=row["purpose"], term_months=row["term_months"], submitted_on=row["submitted_on"],
    )


async def submit_application(tx: Tx, body: ApplicationIn, submitted_by: str, today: date) -> asyncpg.Record:
    submitted_on = await _check_submission(tx, body.business_id, body, today)
    row = await tx.conn.fetchrow(
        """insert into applications (id, business_id, status, origin, program, amount_krw, purpose, term_months, documents,
                                     submitted_on, submitted_by)
           values ($1, $2, 'submitted', 'staff', $3, $4, $5, $6, $7, $8, $9) returning *""",
        uuid6.uuid7(), body.business_id, body.program.value, body.amount_krw, body.purpose.value, body.term_months,
        sorted({d.value for d in body.documents}), submitted_on, submitted_by,
    )
    await tx.emit(_submitted(row))
    return row


async def _locked(conn: asyncpg.Connection, application_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow("select * from applications where id = $1 for update", application_id)
    if row is None:
        raise Problem(404, "Application not found", f"no application {application_id}")
    return row


def _transition(row: asyncpg.Record, action: Action) -> Status:
    try:
        return next_status(row["status"], action)
    except InvalidTransition as exc:
        raise Problem(409, f"Application is {row['status']}", str(exc), status_now=row["status"]) from None


async def submit_draft(tx: Tx, application_id: UUID, body: SubmitDraftIn, submitted_by: str, today: date) -> asyncpg.Record:
    draft = await _locked(tx.conn, application_id)
    _transition(draft, Action.submit)
    if body.business_id is not None and body.business_id != draft["business_id"]:
        raise Problem.invalid("business_id", "is not the draft's business")
    submitted_on = await _check_submission(tx, draft["business_id"], body, today)
    row = await tx.conn.fetchrow(
        """update applications set status = 'submitted', program = $2, amount_krw = $3, purpose = $4, term_months = $5,
                  documents = $6, submitted_on = $7, submitted_by = $8, updated_at = now()
           where id = $1 returning *""",
        application_id, body.program.value, body.amount_krw, body.purpose.value, body.term_months,
        sorted({d.value for d in body.documents}), submitted_on, submitted_by,
    )
    await tx.emit(_submitted(row))
    return row


# ---------------------------------------------------------------- screening (consumer of LoanSubmitted)


async def release_budget(conn: asyncpg.Connection, application: asyncpg.Record, keep_krw: int = 0) -> int:
    """Give back what the application holds beyond `keep_krw` (rejection, withdrawal, or an
    approval below the amount asked). The same single-statement update: no lost update."""
    give_back = application["reserved_krw"] - keep_krw
    if application["round_id"] is None or give_back <= 0:
        return 0
    await conn.execute(
        "update fund_rounds set reserved_krw = reserved_krw - $2, updated_at = now() where id = $1", application["round_id"], give_back
    )
    await conn.execute("update applications set reserved_krw = $2 where id = $1", application["id"], keep_krw)
    return give_back


async def _open_round(conn: asyncpg.Connection, program: str, on: date) -> RoundFacts | None:
    row = await conn.fetchrow(
        """select id, opens_on, closes_on from fund_rounds
           where program = $1 and opens_on <= $2 and (closes_on is null or closes_on >= $2)
           order by opens_on desc limit 1""",
        program, on,
    )
    return RoundFacts(row["id"], row["opens_on"], row["closes_on"]) if row else None


async def screen_application(ctx: EventContext, event: LoanSubmitted, settings: LoansSettings) -> None:
    """Screen one submitted application: the rules, then the budget, then the next step."""
    conn = ctx.conn
    today = settings.today()
    application = await conn.fetchrow("select * from applications where id = $1 for update", event.application_id)
    if application is None:
        raise LookupError(f"LoanSubmitted for application {event.application_id}, which loans does not have")
    if application["status"] != Status.submitted:
        # Withdrawn before screening, or (replay of an old event) screened long ago.
        log.info("application not waiting for screening", application_id=str(event.application_id), status=application["status"])
        return
    terms, dongs = await load_terms(conn, application["program"])
    business = await _business_facts(conn, application["business_id"])
    repaying = bool(
        await conn.fetchval(
            """select 1 from applications where business_id = $1 and program = 'sme_development_fund'
               and status = 'disbursed' and id <> $2 limit 1""",
            application["business_id"], application["id"],
        )
    ) if terms.excludes_current_fund_borrowers else False
    open_round = await _open_round(conn, terms.code, application["submitted_on"]) if terms.uses_rounds else None
    facts = ApplicationFacts(
        amount_krw=application["amount_krw"], purpose=application["purpose"], term_months=application["term_months"],
        documents=frozenset(application["documents"]), submitted_on=application["submitted_on"],
    )
    failed = list(eligibility.screen(facts, business, terms, district_dongs=dongs, open_round=open_round, repaying_fund_loan=repaying).failed)
    reserved = 0
    if not failed and open_round is not None:
        if await budget.reserve(conn, application["id"], open_round.id, facts.amount_krw):
            reserved = facts.amount_krw
        else:
            remaining = await conn.fetchval("select budget_krw - reserved_krw from fund_rounds where id = $1", open_round.id)
            failed.append(eligibility.budget_refused(open_round.id, facts.amount_krw, remaining))
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
    failed_json = [f.model_dump() for f in failed]
    await conn.execute(
        """insert into screenings (application_id, business_id, eligible, failed_rules, round_id, reserved_krw, event_id,
                                   kafka_partition, kafka_offset, worker)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        application["id"], application["business_id"], eligible, failed_json, open_round.id if open_round else None, reserved,
        ctx.envelope.id, ctx.record.partition, ctx.record.offset, WORKER,
    )
    now = settings.now() if status == Status.awaiting_guarantee else None
    await conn.execute(
        """update applications set status = $2, screened_on = $3::date, eligible = $4, failed_rules = $5, round_id = $6,
                  reserved_krw = $7, guarantee_requested_at = $8::timestamptz,
                  guarantee_requested_on = case when $8::timestamptz is null then null else $3::date end,
                  updated_at = now()
           where id = $1""",
        application["id"], status.value, today, eligible, failed_json, open_round.id if open_round and reserved else None, reserved, now,
    )
    program = LoanProgram(application["program"])
    await ctx.emit(
        LoanScreened(
            application_id=application["id"], business_id=application["business_id"], program=program, eligible=eligible,
            failed_rules=failed, round_id=open_round.id if open_round else None, reserved_krw=reserved, screened_on=today,
        )
    )
    if not eligible:
        await ctx.emit(
            LoanRejected(application_id=application["id"], business_id=application["business_id"], program=program,
                         reasons=[f"{f.rule}: {f.detail}" for f in failed], rejected_on=today)
        )
    elif status == Status.awaiting_guarantee:
        await ctx.emit(
            GuaranteeRequested(application_id=application["id"], business_id=application["business_id"],
                               amount_krw=application["amount_krw"], agency=terms.guarantee_agency or "SEOUL_CREDIT_GUARANTEE",
                               requested_on=today)
        )


# ---------------------------------------------------------------- the guarantee saga


async def guarantee_outcome(tx: Tx, event: ReferralCompleted, today: date) -> Status | None:
    """The foundation answered a guarantee referral: issued moves the application on to
    the loan officer (the guaranteed amount caps what can be approved), declined rejects it."""
    if event.application_id is None or event.outcome not in (ReferralOutcome.guarantee_issued, ReferralOutcome.guarantee_declined):
        return None  # not a guarantee answer for a loan application
    application = await tx.conn.fetchrow("select * from applications where id = $1 for update", event.application_id)
    if application is None:
        log.warning("guarantee outcome for an unknown application", application_id=str(event.application_id))
        return None
    action = Action.guarantee_issued if event.outcome == ReferralOutcome.guarantee_issued else Action.guarantee_declined
    try:
        status = next_status(application["status"], action)
    except InvalidTransition:
        # Withdrawn meanwhile, or a repeated answer: the application has moved on; keep the fact only.
        log.info("guarantee outcome after the application moved on", application_id=str(application["id"]), status=application["status"])
        await tx.conn.execute(
            "update applications set guarantee_referral_id = coalesce(guarantee_referral_id, $2), updated_at = now() where id = $1",
            application["id"], event.referral_id,
        )
        return None
    await tx.conn.execute(
        """update applications set status = $2, guarantee_outcome = $3, guarantee_amount_krw = $4, guarantee_referral_id = $5,
                  updated_at = now() where id = $1""",
        application["id"], status.value, event.outcome.value, event.amount_krw, event.referral_id,
    )
    if status == Status.rejected:
        await release_budget(tx.conn, application)
        reason = "guarantee_declined: 서울신용보증재단 보증 거절" + (f" ({event.note})" if event.note else "")
        await tx.emit(LoanRejected(application_id=application["id"], business_id=application["business_id"],
                                   program=LoanProgram(application["program"]), reasons=[reason], rejected_on=today))
    return status


async def sweep_overdue_guarantees(uow: UnitOfWork, settings: LoansSettings, limit: int = 200) -> int:
    """Move applications that waited for their guarantee longer than the timeout to
    guarantee_overdue (staff see them: GET /applications?status=guarantee_overdue).

    Every consumer replica sweeps; FOR UPDATE SKIP LOCKED gives each overdue row to one
    of them, and the status condition makes a second pass find nothing: one event each."""
    cutoff = settings.now() - timedelta(days=settings.guarantee_timeout_days)
    rows = await uow.conn.fetch(
        """select * from applications where status = 'awaiting_guarantee' and guarantee_requested_at < $1
           order by guarantee_requested_at limit $2 for update skip locked""",
        cutoff, limit,
    )
    today = settings.today()
    for row in rows:
        status = next_status(row["status"], Action.guarantee_timed_out)
        await uow.conn.execute(
            "update applications set status = $2, guarantee_timed_out_on = $3, updated_at = now() where id = $1", row["id"], status.value, today
        )
        await uow.emit(GuaranteeTimedOut(application_id=row["id"], business_id=row["business_id"], requested_on=row["guarantee_requested_on"],
                                         timed_out_on=today, timeout_days=settings.guarantee_timeout_days))
    return len(rows)


# ---------------------------------------------------------------- decisions and money (HTTP)


async def decide(tx: Tx, application_id: UUID, body: DecisionIn, decided_by: str, today: date) -> asyncpg.Record:
    application = await _locked(tx.conn, application_id)
    program = LoanProgram(application["program"]) if application["program"] else None
    decided_on = body.decided_on or today
    if decided_on > today:
        raise Problem.invalid("decided_on", f"is in the future (today is {today.isoformat()} in Seoul)")
    if application["submitted_on"] and decided_on < application["submitted_on"]:
        raise Problem.invalid("decided_on", f"is before the submission on {application['submitted_on'].isoformat()}")
    today = decided_on
    for text in body.reasons:
        if contains_resident_number(text):
            raise Problem.invalid("reasons", "contains a resident registration number (주민등록번호), which is never stored")
    if body.decision == "reject":
        status = _transition(application, Action.reject)
        if not body.reasons:
            raise Problem.invalid("reasons", "a rejection needs at least one reason")
        await release_budget(tx.conn, application)
        row = await tx.conn.fetchrow(
            """update applications set status = $2, decided_on = $3, decided_by = $4, decision_reasons = $5, updated_at = now()
               where id = $1 returning *""",
            application_id, status.value, today, decided_by, body.reasons,
        )
        await tx.emit(LoanRejected(application_id=application_id, business_id=row["business_id"], program=program,
                                   reasons=body.reasons, rejected_on=today))
        return row
    status = _transition(application, Action.approve)
    amount = body.amount_krw or application["amount_krw"]
    terms, _ = await load_terms(tx.conn, application["program"])
    business = await _business_facts(tx.conn, application["business_id"])
    errors: list[tuple[str, str]] = []
    if amount > application["amount_krw"]:
        errors.append(("amount_krw", f"₩{amount:,} is more than the ₩{application['amount_krw']:,} asked for"))
    if business is not None and amount > (limit := eligibility.limit_for(terms, business)):
        errors.append(("amount_krw", f"₩{amount:,} is above the program's limit of ₩{limit:,} for this business"))
    if application["guarantee_amount_krw"] is not None and amount > application["guarantee_amount_krw"]:
        errors.append(("amount_krw", f"₩{amount:,} is above the guaranteed ₩{application['guarantee_amount_krw']:,}"))
    if errors:
        raise invalid(errors)
    await release_budget(tx.conn, application, keep_krw=min(amount, application["reserved_krw"]))
    row = await tx.conn.fetchrow(
        """update applications set status = $2, decided_on = $3, decided_by = $4, approved_amount_krw = $5,
                  decision_reasons = $6, updated_at = now()
           where id = $1 returning *""",
        application_id, status.value, today, decided_by, amount, body.reasons or None,
    )
    await tx.emit(LoanApproved(application_id=application_id, business_id=row["business_id"], program=program, amount_krw=amount, approved_on=today))
    return row


async def disburse(tx: Tx, application_id: UUID, body: DisbursementIn, today: date) -> asyncpg.Record:
    application = await _locked(tx.conn, application_id)
    status = _transition(application, Action.disburse)
    disbursed_on = body.disbursed_on or today
    if disbursed_on > today:
        raise Problem.invalid("disbursed_on", f"is in the future (today is {today.isoformat()} in Seoul)")
    if application["decided_on"] and disbursed_on < application["decided_on"]:
        raise Problem.invalid("disbursed_on", f"is before the approval on {application['decided_on'].isoformat()}")
    terms, _ = await load_terms(tx.conn, application["program"])
    if terms.annual_rate_pct is not None:
        if body.annual_rate_pct is not None and Decimal(body.annual_rate_pct) != terms.annual_rate_pct:
            raise Problem.invalid("annual_rate_pct", f"the program's rate is fixed at {terms.annual_rate_pct}%")
        rate = terms.annual_rate_pct
    elif body.annual_rate_pct is None:
        raise Problem.invalid("annual_rate_pct", "give the partner bank's annual rate for a bank-cooperation loan")
    else:
        rate = Decimal(body.annual_rate_pct)
    plan = schedule.repayment_schedule(
        application["approved_amount_krw"], rate, grace_months=terms.grace_months, instalments=terms.instalments,
        disbursed_on=disbursed_on, subsidy_rate_pct=terms.subsidy_rate_pct, subsidy_months=terms.subsidy_months,
    )
    row = await tx.conn.fetchrow(
        """update applications set status = $2, disbursed_on = $3, annual_rate_pct = $4, schedule = $5, updated_at = now()
           where id = $1 returning *""",
        application_id, status.value, disbursed_on, rate, plan.as_json(),
    )
    await tx.emit(
        LoanDisbursed(
            application_id=application_id, business_id=row["business_id"], program=LoanProgram(row["program"]),
            amount_krw=row["approved_amount_krw"], disbursed_on=disbursed_on, annual_rate_pct=float(rate),
            grace_months=terms.grace_months, instalments=terms.instalments, first_instalment_on=plan.first_instalment_on,
            subsidy_rate_pct=float(plan.subsidy_rate_pct) if plan.subsidy_months else None,
            subsidy_months=plan.subsidy_months or None,
        )
    )
    return row


async def withdraw(tx: Tx, application_id: UUID, body: WithdrawIn, today: date) -> asyncpg.Record:
    application = await _locked(tx.conn, application_id)
    status = _transition(application, Action.withdraw)
    if contains_resident_number(body.reason):
        raise Problem.invalid("reason", "contains a resident registration number (주민등록번호), which is never stored")
    await release_budget(tx.conn, application)
    await budget.release_claim(tx.conn, application_id)  # claimed by a screening that rolled back
    row = await tx.conn.fetchrow(
        "update applications set status = $2, withdrawn_on = $3, withdraw_reason = $4, updated_at = now() where id = $1 returning *",
        application_id, status.value, today, body.reason,
    )
    await tx.emit(LoanWithdrawn(application_id=application_id, business_id=row["business_id"], reason=body.reason, withdrawn_on=today))
    return row


# ---------------------------------------------------------------- fund rounds (data, loan officer)


async def put_round(conn: asyncpg.Connection, round_id: str, body: RoundIn) -> asyncpg.Record:
    """Create a round or change its dates and budget. A budget below what is already
    reserved is refused (it would break the promise made to screened applications)."""
    if body.closes_on is not None and body.closes_on < body.opens_on:
        raise Problem.invalid("closes_on", "is before opens_on")
    uses_rounds = await conn.fetchval("select uses_rounds from programs where code = $1", body.program.value)
    if not uses_rounds:
        raise Problem.invalid("program", f"{body.program.value} does not lend from fund rounds")
    existing = await conn.fetchrow("select * from fund_rounds where id = $1 for update", round_id)
    if existing is not None and body.budget_krw < existing["reserved_krw"]:
        raise Problem.invalid("budget_krw", f"₩{existing['reserved_krw']:,} is already reserved from this round")
    if existing is not None and existing["program"] != body.program.value:
        raise Problem.invalid("program", f"round {round_id} belongs to {existing['program']}")
    return await conn.fetchrow(
        """insert into fund_rounds (id, program, name, opens_on, closes_on, budget_krw) values ($1, $2, $3, $4, $5, $6)
           on conflict (id) do update set name = excluded.name, opens_on = excluded.opens_on, closes_on = excluded.closes_on,
               budget_krw = excluded.budget_krw, updated_at = now()
           returning *""",
        round_id, body.program.value, body.name, body.opens_on, body.closes_on, body.budget_krw,
    )


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
