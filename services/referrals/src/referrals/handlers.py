"""Commands: each runs in one unit of work (an HTTP command's, or the consumer's inbox
transaction) and emits its events through the outbox (`tx.emit`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol
from uuid import UUID

import asyncpg
import uuid6

from sangsaeng_common.contracts import Event
from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, ConsentGiven, ConsentWithdrawn
from sangsaeng_common.contracts.loans import GuaranteeRequested
from sangsaeng_common.contracts.referrals import ReferralAcknowledged, ReferralCompleted, ReferralOutcome, ReferralSent, agency_topic
from sangsaeng_common.contracts.visits import VisitRecorded
from sangsaeng_common.envelope import Envelope
from sangsaeng_common.http import Problem
from sangsaeng_common.logging import get_logger
from referrals.config import ReferralPolicy
from referrals.domain import referral as r
from referrals.domain import rules
from referrals.domain.rules import Proposal

log = get_logger(__name__)

SEOUL = timezone(timedelta(hours=9))
LOCK_REFERRALS = 7_006  # advisory lock class: one business's referrals are decided one at a time


def today_in_seoul() -> date:
    return datetime.now(SEOUL).date()


class Tx(Protocol):
    """A transaction that can emit events: a UnitOfWork or a consumer's EventContext."""

    @property
    def conn(self) -> asyncpg.Connection: ...

    async def emit(self, event: Event, *, topic: str | None = None, envelope: Envelope | None = None) -> Envelope: ...


@dataclass(frozen=True)
class Cause:
    """Why a referral is made: the causing event (or staff) and its own date."""

    origin: str  # visit, guarantee, staff
    referred_on: date
    event_id: UUID | None = None
    application_id: UUID | None = None
    amount_krw: int | None = None
    created_by: str = "rules"


# ---------------------------------------------------------------- making referrals


async def _lock_business(conn: asyncpg.Connection, business_id: UUID) -> None:
    # LOCKING: the 30-day rule reads a business's earlier referrals and then inserts one.
    # A staff referral and a rule-made one for the same business at the same moment would
    # both find none under READ COMMITTED and both insert. A transaction-scoped advisory
    # lock per business serialises them; different businesses never wait for each other.
    await conn.execute("select pg_advisory_xact_lock($1, hashtext($2))", LOCK_REFERRALS, str(business_id))


async def _active_consent(conn: asyncpg.Connection, business_id: UUID, agency: str) -> UUID | None:
    return await conn.fetchval(
        """select consent_id from consents where business_id = $1 and agency = $2 and withdrawn_at is null
           order by given_at desc limit 1""",
        business_id, agency,
    )


async def refer(tx: Tx, policy: ReferralPolicy, business_id: UUID, proposal: Proposal, cause: Cause) -> asyncpg.Record | None:
    """Make one referral unless the 30-day rule (or the once-per-application rule for
    guarantees) says it was made already; gate it by consent. Returns the new row, or
    None if it was a repeat."""
    conn = tx.conn
    await _lock_business(conn, business_id)
    if await conn.fetchval("select erased_at is not null from businesses where id = $1", business_id):
        log.info("business erased: no referral", business_id=str(business_id), program=proposal.program)
        return None
    if cause.application_id is not None:
        if await conn.fetchval(
            "select 1 from referrals where application_id = $1 and state <> 'cancelled'", cause.application_id
        ):
            return None
    else:
        earlier = await conn.fetch(
            """select referred_on from referrals
               where business_id = $1 and agency = $2 and program = $3 and state <> 'cancelled' and application_id is null""",
            business_id, proposal.agency.value, proposal.program,
        )
        if rules.is_repeat(cause.referred_on, [e["referred_on"] for e in earlier]):
            log.info("referred within 30 days already", business_id=str(business_id), program=proposal.program)
            return None
    agency = policy.agencies[proposal.agency]
    decision = r.gate(agency.consent_rule, await _active_consent(conn, business_id, proposal.agency.value))
    row = await conn.fetchrow(
        """insert into referrals (id, business_id, agency, program, reason, origin, cause_event_id, application_id, amount_krw,
                                  referred_on, state, personal_data_shared, consent_id, created_by)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'held', false, null, $11)
           on conflict do nothing returning *""",
        uuid6.uuid7(), business_id, proposal.agency.value, proposal.program, proposal.reason, cause.origin, cause.event_id,
        cause.application_id, cause.amount_krw, cause.referred_on, cause.created_by,
    )
    if row is None:  # the same cause already referred to this program
        return None
    if decision.state is r.State.sent:
        row = await _send(tx, row, decision.consent_id, r.sent_on(cause.referred_on, None))
    else:
        log.info("referral held until consent covers the agency", referral_id=str(row["id"]), agency=proposal.agency.value)
    return row


async def _send(tx: Tx, row: asyncpg.Record, consent_id: UUID | None, sent_on: date) -> asyncpg.Record:
    """Mark a referral sent and publish ReferralSent on referrals' topic and on the
    agency's own topic, as one event (the same ce_id on both)."""
    now = datetime.now(UTC)
    event = ReferralSent(
        referral_id=row["id"], business_id=row["business_id"], agency=AgencyCode(row["agency"]), program=row["program"],
        reason=row["reason"], cause_event_id=row["cause_event_id"], personal_data_shared=consent_id is not None,
        consent_id=consent_id, sent_at=now, referred_on=row["referred_on"], application_id=row["application_id"],
        amount_krw=row["amount_krw"],
    )
    envelope = await tx.emit(event)
    await tx.emit(event, topic=agency_topic(row["agency"]), envelope=envelope)
    return await tx.conn.fetchrow(
        """update referrals set state = 'sent', personal_data_shared = $2, consent_id = $3, sent_on = $4, sent_at = $5,
                  sent_event_id = $6, updated_at = now()
           where id = $1 returning *""",
        row["id"], consent_id is not None, consent_id, sent_on, now, envelope.id,
    )


async def on_visit(tx: Tx, policy: ReferralPolicy, event: VisitRecorded, event_id: UUID) -> list[asyncpg.Record]:
    made = []
    for proposal in rules.for_visit(event.needs_identified):
        row = await refer(tx, policy, event.business_id, proposal, Cause("visit", event.visited_on, event_id))
        if row is not None:
            made.append(row)
    return made


async def on_guarantee(tx: Tx, policy: ReferralPolicy, event: GuaranteeRequested, event_id: UUID) -> asyncpg.Record | None:
    try:
        proposal = rules.for_guarantee(event.agency)
    except ValueError:
        log.warning("guarantee requested from an unknown agency; no referral", agency=event.agency)
        return None
    cause = Cause("guarantee", event.requested_on, event_id, application_id=event.application_id, amount_krw=event.amount_krw)
    return await refer(tx, policy, event.business_id, proposal, cause)


async def refer_by_hand(tx: Tx, policy: ReferralPolicy, business_id: UUID, agency: AgencyCode, program: str, reason: str,
                        referred_on: date, by: str) -> asyncpg.Record:
    found = policy.agencies[agency]
    if found.program(program) is None:
        raise Problem.invalid("program", f"{agency.value} has no program {program!r}; see GET /agencies")
    business = await tx.conn.fetchrow("select erased_at from businesses where id = $1", business_id)
    if business is None:
        raise Problem.invalid("business_id", f"referrals knows no business {business_id} (unknown, or intake's event has not arrived yet)")
    if business["erased_at"] is not None:
        raise Problem(409, "Business erased", f"business {business_id} was erased on the owner's request")
    row = await refer(tx, policy, business_id, Proposal(agency, program, reason), Cause("staff", referred_on, created_by=by))
    if row is None:
        existing = await tx.conn.fetchval(
            """select id from referrals where business_id = $1 and agency = $2 and program = $3 and state <> 'cancelled'
               order by abs(referred_on - $4::date) limit 1""",
            business_id, agency.value, program, referred_on,
        )
        raise Problem(409, "Referred already", f"{agency.value} {program} was referred for this business within 30 days",
                      headers={"Location": f"/referrals/{existing}"}, existing_id=str(existing))
    return row


# ---------------------------------------------------------------- consent and erasure


async def on_consent_given(tx: Tx, event: ConsentGiven) -> list[asyncpg.Record]:
    """Record the consent and release the held referrals it covers, with personal data."""
    await tx.conn.executemany(
        """insert into consents (consent_id, business_id, agency, given_at) values ($1, $2, $3, $4)
           on conflict (consent_id, agency) do nothing""",
        [(event.consent_id, event.business_id, a.value, event.given_at) for a in dict.fromkeys(event.agencies)],
    )
    await _lock_business(tx.conn, event.business_id)
    held = await tx.conn.fetch(
        """select * from referrals where business_id = $1 and state = 'held' and agency = any($2::text[])
           order by created_at, id for update""",
        event.business_id, [a.value for a in event.agencies],
    )
    released_on = event.given_at.astimezone(SEOUL).date()
    return [await _send(tx, row, event.consent_id, r.sent_on(row["referred_on"], released_on)) for row in held]


async def on_consent_withdrawn(tx: Tx, event: ConsentWithdrawn) -> None:
    """No further sharing: the consent no longer covers these agencies, and referrals that
    shared personal data under it are flagged (agencies see `consent_withdrawn_at`)."""
    agencies = [a.value for a in event.agencies]
    await tx.conn.execute(
        """update consents set withdrawn_at = coalesce(withdrawn_at, $3)
           where consent_id = $1 and agency = any($2::text[])""",
        event.consent_id, agencies, event.withdrawn_at,
    )
    await tx.conn.execute(
        """update referrals set consent_withdrawn_at = coalesce(consent_withdrawn_at, $3), updated_at = now()
           where consent_id = $1 and agency = any($2::text[]) and personal_data_shared""",
        event.consent_id, agencies, event.withdrawn_at,
    )


async def on_business_registered(tx: Tx, event: BusinessRegistered) -> None:
    await tx.conn.execute(
        """insert into businesses (id, dong, industry, stage) values ($1, $2, $3, $4)
           on conflict (id) do update set dong = excluded.dong, industry = excluded.industry, stage = excluded.stage, updated_at = now()""",
        event.business_id, event.dong, event.industry, event.stage.value,
    )


async def on_business_erased(tx: Tx, event: BusinessErased) -> None:
    """Held referrals (never sent) are cancelled; consents are closed; free text the agencies
    or staff wrote is dropped. Referrals already sent keep their non-personal facts."""
    await _lock_business(tx.conn, event.business_id)
    await tx.conn.execute(
        """insert into businesses (id, dong, industry, stage, erased_at) values ($1, '', '', 'closed', $2)
           on conflict (id) do update set erased_at = coalesce(businesses.erased_at, excluded.erased_at), updated_at = now()""",
        event.business_id, event.erased_at,
    )
    await tx.conn.execute(
        "update consents set withdrawn_at = coalesce(withdrawn_at, $2) where business_id = $1", event.business_id, event.erased_at
    )
    await tx.conn.execute(
        """update referrals set state = 'cancelled', cancel_reason = 'business erased', updated_at = now()
           where business_id = $1 and state = 'held'""",
        event.business_id,
    )
    await tx.conn.execute(
        """update referrals set outcome_note = null, reason = case when origin = 'staff' then 'staff' else reason end,
                  consent_withdrawn_at = case when personal_data_shared then coalesce(consent_withdrawn_at, $2) else null end,
                  updated_at = now()
           where business_id = $1""",
        event.business_id, event.erased_at,
    )


# ---------------------------------------------------------------- the agency's answers


async def _referral_for_agency(conn: asyncpg.Connection, referral_id: UUID, agency: str) -> asyncpg.Record:
    row = await conn.fetchrow("select * from referrals where id = $1 for update", referral_id)
    # Another agency's referral, or one never sent to this agency, does not exist for it.
    if row is None or row["agency"] != agency or row["state"] not in r.VISIBLE_TO_AGENCY:
        raise Problem(404, "Referral not found", f"no referral {referral_id}")
    return row


def _conflict(exc: r.Conflict, row: asyncpg.Record) -> Problem:
    return Problem(409, "Referral answered otherwise", str(exc), state=row["state"])


async def acknowledge(tx: Tx, referral_id: UUID, agency: str, reference: str) -> asyncpg.Record:
    row = await _referral_for_agency(tx.conn, referral_id, agency)
    try:
        changes = r.acknowledge(r.State(row["state"]), row["agency_reference"], reference)
    except r.Conflict as exc:
        raise _conflict(exc, row) from None
    if not changes:
        return row
    now = datetime.now(UTC)
    row = await tx.conn.fetchrow(
        """update referrals set state = 'acknowledged', agency_reference = $2, acknowledged_at = $3, updated_at = now()
           where id = $1 returning *""",
        referral_id, reference, now,
    )
    await tx.emit(
        ReferralAcknowledged(referral_id=referral_id, business_id=row["business_id"], agency=AgencyCode(agency),
                             agency_reference=reference, acknowledged_at=now)
    )
    return row


async def complete(tx: Tx, referral_id: UUID, agency: str, outcome: ReferralOutcome, amount_krw: int | None,
                   note: str | None, completed_on: date) -> asyncpg.Record:
    row = await _referral_for_agency(tx.conn, referral_id, agency)
    try:
        r.check_outcome(row["program"], outcome, amount_krw)
    except r.Refused as exc:
        raise Problem.invalid(exc.field, exc.message) from None
    current = (row["outcome"], row["outcome_amount_krw"]) if row["outcome"] else None
    try:
        changes = r.complete(r.State(row["state"]), current, outcome, amount_krw)
    except r.Conflict as exc:
        raise _conflict(exc, row) from None
    if not changes:
        return row
    row = await tx.conn.fetchrow(
        """update referrals set state = 'completed', outcome = $2, outcome_amount_krw = $3, outcome_note = $4, completed_on = $5,
                  updated_at = now()
           where id = $1 returning *""",
        referral_id, outcome.value, amount_krw, note, completed_on,
    )
    await tx.emit(
        ReferralCompleted(referral_id=referral_id, business_id=row["business_id"], agency=AgencyCode(agency), outcome=outcome,
                          amount_krw=amount_krw, application_id=row["application_id"], completed_on=completed_on, note=note)
    )
    return row
