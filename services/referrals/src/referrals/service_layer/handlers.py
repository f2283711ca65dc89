"""Referrals' handlers: each runs in one unit of work (an HTTP command's, or the consumer's
inbox transaction), calls the domain's rules and the adapters, emits its events through the
outbox (`tx.emit`) and refuses with sangsaeng_common.errors only.

`tx.emit(event, topic=..., envelope=...)`: ReferralSent goes on referrals' topic and on the
agency's own, as one event; both transactions (UnitOfWork, EventContext) take these keywords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg
import uuid6

from sangsaeng_common.clock import SEOUL, SeoulClock
from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.intake import BusinessErased, ConsentGiven, ConsentWithdrawn, SupportRequested
from sangsaeng_common.contracts.loans import GuaranteeRequested
from sangsaeng_common.contracts import Event
from sangsaeng_common.contracts.referrals import (
    BasisLost, ReferralAcknowledged, ReferralBasisLost, ReferralCompleted, ReferralPersonalDataShared, ReferralSent, agency_topic,
)
from sangsaeng_common.contracts.visits import VisitRecorded
from sangsaeng_common.errors import Conflict, RuleBroken, invalid
from sangsaeng_common.logging import get_logger
from sangsaeng_common.pii import refuse_resident_numbers
from sangsaeng_common.tx import Tx
from referrals.adapters import directory, queries, repository
from referrals.config import ReferralPolicy
from referrals.domain import authority
from referrals.domain import referral as r
from referrals.domain import rules
from referrals.domain.rules import Proposal
from referrals.service_layer.commands import Acknowledge, RecordOutcome, ReferByHand

log = get_logger(__name__)


@dataclass(frozen=True)
class Deps:
    """What the handlers need besides the transaction, built by bootstrap."""

    policy: ReferralPolicy
    clock: SeoulClock


@dataclass(frozen=True)
class Cause:
    """Why a referral is made: the causing event (or staff) and its own date."""

    origin: str  # visit, support_request, guarantee, staff
    referred_on: date
    event_id: UUID | None = None
    application_id: UUID | None = None
    amount_krw: int | None = None
    created_by: str = "rules"


# ---------------------------------------------------------------- making referrals


async def refer(tx: Tx, deps: Deps, business_id: UUID, proposal: Proposal, cause: Cause) -> asyncpg.Record | None:
    """Make one referral unless the 30-day rule (or the once-per-application rule for
    guarantees) says it was made already; gate it by consent. Returns the new row, or
    None if it was a repeat."""
    conn = tx.conn
    await repository.lock_business(conn, business_id)  # see the LOCKING note there
    if await directory.is_erased(conn, business_id):
        log.info("business erased: no referral", business_id=str(business_id), program=proposal.program)
        return None
    if cause.application_id is not None:
        if await queries.guarantee_referred(conn, cause.application_id):
            return None
    else:
        earlier = await queries.referred_on_dates(conn, business_id, proposal.agency.value, proposal.program)
        if rules.is_repeat(cause.referred_on, earlier):
            log.info("referred within 30 days already", business_id=str(business_id), program=proposal.program)
            return None
    agency = deps.policy.agencies[proposal.agency]
    decision = r.gate(agency.consent_rule, await queries.active_consent(conn, business_id, proposal.agency.value))
    row = await repository.add_held(
        conn, id=uuid6.uuid7(), business_id=business_id, agency=proposal.agency.value, program=proposal.program,
        reason=proposal.reason, origin=cause.origin, cause_event_id=cause.event_id, application_id=cause.application_id,
        amount_krw=cause.amount_krw, referred_on=cause.referred_on, created_by=cause.created_by,
    )
    if row is None:  # the same cause already referred to this program
        return None
    if decision.state is r.State.sent:
        row = await _send(tx, deps, row, decision.consent_id, r.sent_on(cause.referred_on, None))
    else:
        log.info("referral held until consent covers the agency", referral_id=str(row["id"]), agency=proposal.agency.value)
    return row


async def _send(tx: Tx, deps: Deps, row: asyncpg.Record, consent_id: UUID | None, sent_on: date) -> asyncpg.Record:
    """Mark a referral sent and publish ReferralSent on referrals' topic and on the
    agency's own topic, as one event (the same ce_id on both)."""
    now = deps.clock.now()
    event = ReferralSent(
        referral_id=row["id"], business_id=row["business_id"], agency=AgencyCode(row["agency"]), program=row["program"],
        reason=row["reason"], cause_event_id=row["cause_event_id"], personal_data_shared=consent_id is not None,
        consent_id=consent_id, sent_at=now, referred_on=row["referred_on"], application_id=row["application_id"],
        amount_krw=row["amount_krw"],
    )
    envelope = await _to_agency(tx, event, row["agency"])
    return await repository.mark_sent(tx.conn, row["id"], consent_id=consent_id, sent_on=sent_on, sent_at=now, sent_event_id=envelope.id)


async def _to_agency(tx: Tx, event: Event, agency: str):  # noqa: ANN202 - an Envelope
    """Publish on referrals' topic and on the agency's own, as one event (the same ce_id)."""
    envelope = await tx.emit(event)
    await tx.emit(event, topic=agency_topic(agency), envelope=envelope)  # type: ignore[call-arg]
    return envelope


async def on_visit(tx: Tx, deps: Deps, event: VisitRecorded, event_id: UUID) -> list[asyncpg.Record]:
    return await _refer_all(tx, deps, event.business_id, rules.for_visit(event.needs_identified), Cause("visit", event.visited_on, event_id))


async def on_support_request(tx: Tx, deps: Deps, event: SupportRequested, event_id: UUID) -> list[asyncpg.Record]:
    """Needs the desk took down refer as a visit's do: the same rules, the same 30-day rule
    (a program referred after a visit is not referred again for a desk request, and back)."""
    cause = Cause("support_request", event.requested_on, event_id)
    return await _refer_all(tx, deps, event.business_id, rules.for_support_request(event.needs), cause)


async def _refer_all(tx: Tx, deps: Deps, business_id: UUID, proposals: list[Proposal], cause: Cause) -> list[asyncpg.Record]:
    made = []
    for proposal in proposals:
        row = await refer(tx, deps, business_id, proposal, cause)
        if row is not None:
            made.append(row)
    return made


async def on_guarantee(tx: Tx, deps: Deps, event: GuaranteeRequested, event_id: UUID) -> asyncpg.Record | None:
    try:
        proposal = rules.for_guarantee(event.agency)
    except ValueError:
        log.warning("guarantee requested from an unknown agency; no referral", agency=event.agency)
        return None
    cause = Cause("guarantee", event.requested_on, event_id, application_id=event.application_id, amount_krw=event.amount_krw)
    return await refer(tx, deps, event.business_id, proposal, cause)


async def refer_by_hand(tx: Tx, deps: Deps, cmd: ReferByHand) -> asyncpg.Record:
    refuse_resident_numbers({"reason": cmd.reason})
    if deps.policy.agencies[cmd.agency].program(cmd.program) is None:
        raise invalid("program", f"{cmd.agency.value} has no program {cmd.program!r}; see GET /agencies")
    known, erased = await directory.known(tx.conn, cmd.business_id)
    if not known:
        raise invalid("business_id", f"referrals knows no business {cmd.business_id} (unknown, or intake's event has not arrived yet)")
    if erased:
        raise Conflict("Business erased", f"business {cmd.business_id} was erased on the owner's request")
    referred_on = cmd.referred_on or deps.clock.today()
    proposal = Proposal(cmd.agency, cmd.program, cmd.reason)
    row = await refer(tx, deps, cmd.business_id, proposal, Cause("staff", referred_on, created_by=cmd.by))
    if row is None:
        existing = await queries.nearest_referral(tx.conn, cmd.business_id, cmd.agency.value, cmd.program, referred_on)
        # `headers` reaches the problem document's HTTP headers (sangsaeng_common.http.problem_of).
        raise Conflict("Referred already", f"{cmd.agency.value} {cmd.program} was referred for this business within 30 days",
                       headers={"Location": f"/referrals/{existing}"}, existing_id=str(existing))
    return row


# ---------------------------------------------------------------- consent and erasure


async def on_consent_given(tx: Tx, deps: Deps, event: ConsentGiven) -> list[asyncpg.Record]:
    """Record the consent and release the held referrals it covers, with personal data."""
    await repository.add_consents(tx.conn, event.consent_id, event.business_id, [a.value for a in dict.fromkeys(event.agencies)], event.given_at)
    await repository.lock_business(tx.conn, event.business_id)
    held = await repository.held_for_agencies(tx.conn, event.business_id, [a.value for a in event.agencies])
    released_on = event.given_at.astimezone(SEOUL).date()
    sent = [await _send(tx, deps, row, event.consent_id, r.sent_on(row["referred_on"], released_on)) for row in held]
    # Referrals the agency got earlier without personal data (its rule let them go without) may
    # now be worked with it: tell the agency, on its topic.
    if not await directory.is_erased(tx.conn, event.business_id):
        for row in await repository.share_personal_data(tx.conn, event.business_id, [a.value for a in event.agencies], event.consent_id):
            await _to_agency(tx, ReferralPersonalDataShared(
                referral_id=row["id"], business_id=row["business_id"], agency=AgencyCode(row["agency"]), program=row["program"],
                consent_id=event.consent_id, shared_at=event.given_at,
            ), row["agency"])
    return sent


async def on_consent_withdrawn(tx: Tx, event: ConsentWithdrawn) -> None:
    """No further sharing: the consent no longer covers these agencies, and referrals that
    shared personal data under it are flagged (agencies see `consent_withdrawn_at`); each
    agency learns it on its topic (ReferralBasisLost: delete the personal data)."""
    await repository.lock_business(tx.conn, event.business_id)
    for row in await repository.withdraw_consent(tx.conn, event.consent_id, [a.value for a in event.agencies], event.withdrawn_at):
        if row["state"] in r.VISIBLE_TO_AGENCY:
            await _to_agency(tx, ReferralBasisLost(
                referral_id=row["id"], business_id=row["business_id"], agency=AgencyCode(row["agency"]), basis=BasisLost.consent_withdrawn,
                consent_id=event.consent_id, delete_personal_data=True, lost_at=event.withdrawn_at,
            ), row["agency"])


async def forget_business(tx: Tx, event: BusinessErased) -> None:
    """Held referrals (never sent) are cancelled; consents are closed; free text the agencies
    or staff wrote is dropped. Referrals already sent keep their non-personal facts, and each
    agency holding one learns of the erasure on its topic (ReferralBasisLost). Runs after the
    directory marked the business erased, under the business's lock
    (service_layer/directory.lock_before_erasure)."""
    held = await repository.held_by_agencies(tx.conn, event.business_id)
    await repository.erase_business_referrals(tx.conn, event.business_id, event.erased_at)
    for row in held:
        await _to_agency(tx, ReferralBasisLost(
            referral_id=row["id"], business_id=row["business_id"], agency=AgencyCode(row["agency"]), basis=BasisLost.business_erased,
            delete_personal_data=row["personal_data_shared"], lost_at=event.erased_at,
        ), row["agency"])


# ---------------------------------------------------------------- the agency's answers


async def _referral_for_agency(conn: asyncpg.Connection, referral_id: UUID, agency: str) -> asyncpg.Record:
    row = await repository.referral_for_update(conn, referral_id)
    # Another agency's referral, one never sent to this agency and one that does not exist are
    # refused alike (as reading answers 404 alike): an answer tells nothing of other agencies'.
    why = authority.answer_refusal(agency, row["agency"] if row else None, r.State(row["state"]) if row else None)
    if why is not None:
        raise RuleBroken(authority.OWN_AGENCY_REFERRALS_ONLY, why)
    return row


def _conflict(exc: r.Conflict, row: asyncpg.Record) -> Conflict:
    return Conflict("Referral answered otherwise", str(exc), state=row["state"])


async def acknowledge(tx: Tx, deps: Deps, cmd: Acknowledge) -> asyncpg.Record:
    row = await _referral_for_agency(tx.conn, cmd.referral_id, cmd.agency)
    try:
        changes = r.acknowledge(r.State(row["state"]), row["agency_reference"], cmd.agency_reference)
    except r.Conflict as exc:
        raise _conflict(exc, row) from None
    if not changes:
        return row
    now = deps.clock.now()
    row = await repository.mark_acknowledged(tx.conn, cmd.referral_id, cmd.agency_reference, now)
    await tx.emit(
        ReferralAcknowledged(referral_id=cmd.referral_id, business_id=row["business_id"], agency=AgencyCode(cmd.agency),
                             agency_reference=cmd.agency_reference, acknowledged_at=now)
    )
    return row


async def complete(tx: Tx, deps: Deps, cmd: RecordOutcome) -> asyncpg.Record:
    if cmd.note:
        refuse_resident_numbers({"note": cmd.note})
    completed_on = cmd.completed_on or deps.clock.today()
    row = await _referral_for_agency(tx.conn, cmd.referral_id, cmd.agency)
    try:
        r.check_outcome(row["program"], cmd.outcome, cmd.amount_krw)
    except r.Refused as exc:
        raise invalid(exc.field, exc.message) from None
    current = (row["outcome"], row["outcome_amount_krw"]) if row["outcome"] else None
    try:
        changes = r.complete(r.State(row["state"]), current, cmd.outcome, cmd.amount_krw)
    except r.Conflict as exc:
        raise _conflict(exc, row) from None
    if not changes:
        return row
    row = await repository.mark_completed(
        tx.conn, cmd.referral_id, outcome=cmd.outcome.value, amount_krw=cmd.amount_krw, note=cmd.note, completed_on=completed_on
    )
    # The agency's note stays in referrals (outcome_note, blanked on erasure); the outcome is the code.
    await tx.emit(
        ReferralCompleted(referral_id=cmd.referral_id, business_id=row["business_id"], agency=AgencyCode(cmd.agency),
                          outcome=cmd.outcome, amount_krw=cmd.amount_krw, application_id=row["application_id"],
                          completed_on=completed_on)
    )
    return row
