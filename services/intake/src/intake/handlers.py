"""Commands: each runs in one unit of work and emits its events through the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import uuid6

from intake.domain import business as rules
from intake.domain import consent as consent_rules
from intake.domain import registration, support, timeline
from intake.models import BusinessIn, ConsentIn, ConsentWithdrawalIn, ErasureIn, OwnerIn, StageChangeIn, SupportRequestIn
from sangsaeng_common.contracts.intake import (
    BusinessErased,
    BusinessRegistered,
    BusinessStageChanged,
    ConsentGiven,
    ConsentWithdrawn,
    Stage,
    SupportRequested,
)
from sangsaeng_common.http import Problem
from sangsaeng_common.unit_of_work import UnitOfWork


def refuse_resident_numbers(fields: dict[str, object]) -> None:
    """Resident registration numbers are never stored, wherever they appear."""
    for name, value in fields.items():
        if isinstance(value, str) and registration.contains_resident_number(value):
            raise Problem.invalid(name, "contains a resident registration number (주민등록번호), which is never stored")


async def register_business(uow: UnitOfWork, command: BusinessIn) -> asyncpg.Record:
    refuse_resident_numbers(command.model_dump())
    if (problem := rules.dong_error(command.dong, command.registered_on)) is not None:
        raise Problem.invalid("dong", problem)
    if command.registration_number is None and command.stage is not Stage.prospective:
        raise Problem.invalid("registration_number", "required unless the stage is prospective (a would-be founder)")
    business_id = uuid6.uuid7()
    micro = rules.is_micro_business(command.industry, command.employees)
    kind = registration.business_kind(command.registration_number) if command.registration_number else None
    # ON CONFLICT rather than catching the unique violation: no savepoint (two round trips)
    # needed to keep the unit of work usable. The id is new, so only the number can clash.
    row = await uow.conn.fetchrow(
        """insert into businesses (id, registration_number, business_kind, name, dong, address, industry,
                                   employees, is_micro_business, stage, registered_on)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict do nothing returning *""",
        business_id, command.registration_number, kind, command.name, command.dong, command.address,
        command.industry, command.employees, micro, command.stage.value, command.registered_on,
    )
    if row is None:
        existing = await uow.conn.fetchval("select id from businesses where registration_number = $1", command.registration_number)
        raise Problem(
            409,
            "Business already registered",
            f"registration_number {command.registration_number} belongs to business {existing}",
            headers={"Location": f"/businesses/{existing}"},
            existing_id=str(existing),
        )
    await uow.emit(
        BusinessRegistered(
            business_id=business_id,
            registration_number=command.registration_number,
            name=command.name,
            dong=command.dong,
            industry=command.industry,
            employees=command.employees,
            is_micro_business=micro,
            stage=command.stage,
            registered_on=command.registered_on,
        )
    )
    return row


async def change_stage(uow: UnitOfWork, business_id: UUID, command: StageChangeIn) -> asyncpg.Record:
    refuse_resident_numbers({"reason": command.reason})
    # FOR UPDATE: two stage changes of one business are decided one after the other,
    # each against the stage the other left.
    current = await uow.conn.fetchval("select stage from businesses where id = $1 for update", business_id)
    if current is None:
        raise Problem(404, "Business not found", f"no business {business_id}")
    try:
        rules.check_stage_move(Stage(current), command.stage)
    except rules.StageChangeRefused as refused:
        raise Problem(
            409, "Stage change refused", str(refused), current=refused.current.value, allowed=[s.value for s in refused.allowed]
        ) from None
    row = await uow.conn.fetchrow(
        "update businesses set stage = $2, updated_at = now() where id = $1 returning *", business_id, command.stage.value
    )
    await uow.emit(
        BusinessStageChanged(
            business_id=business_id,
            from_stage=Stage(current),
            to_stage=command.stage,
            reason=command.reason,
            changed_on=command.changed_on or date.today(),
        )
    )
    return row


async def _lock_business(uow: UnitOfWork, business_id: UUID) -> asyncpg.Record:
    """The business row, locked for this unit of work (its erasure waits for us, and we for it); 404 if none."""
    row = await uow.conn.fetchrow("select id, erased_at from businesses where id = $1 for update", business_id)
    if row is None:
        raise Problem(404, "Business not found", f"no business {business_id}")
    return row


# ---------------------------------------------------------------- owners (personal data: never in an event)


async def add_owner(uow: UnitOfWork, business_id: UUID, command: OwnerIn) -> asyncpg.Record:
    refuse_resident_numbers(command.model_dump())
    await _lock_business(uow, business_id)
    return await uow.conn.fetchrow(
        """insert into owners (id, business_id, relation, name, phone, email)
           values ($1, $2, $3, $4, $5, $6) returning *""",
        uuid6.uuid7(), business_id, command.relation.value, command.name.strip(), command.phone, command.email,
    )


# ---------------------------------------------------------------- consent


def _now() -> datetime:
    return datetime.now(UTC)


async def give_consent(uow: UnitOfWork, business_id: UUID, command: ConsentIn) -> asyncpg.Record:
    refuse_resident_numbers({"signed_by": command.signed_by, "note": command.note})
    now = _now()
    given_at = command.given_at or now
    try:
        consent_rules.check_moment("given_at", given_at, now)
    except consent_rules.ConsentRefused as refused:
        raise Problem.invalid(refused.field, refused.message) from None
    await _lock_business(uow, business_id)
    if command.owner_id is not None:
        owner_business = await uow.conn.fetchval("select business_id from owners where id = $1", command.owner_id)
        if owner_business != business_id:
            raise Problem.invalid("owner_id", f"no owner {command.owner_id} of business {business_id}")
    agencies = consent_rules.agencies_in_order(command.agencies)
    row = await uow.conn.fetchrow(
        """insert into consents (id, business_id, agencies, given_at, owner_id, signed_by, note)
           values ($1, $2, $3, $4, $5, $6, $7) returning *""",
        uuid6.uuid7(), business_id, [a.value for a in agencies], given_at, command.owner_id, command.signed_by, command.note,
    )
    # Times as stored (UTC), so the event and the API tell the same time the same way.
    await uow.emit(ConsentGiven(consent_id=row["id"], business_id=business_id, agencies=agencies, given_at=row["given_at"]))
    return row


async def withdraw_consent(uow: UnitOfWork, business_id: UUID, consent_id: UUID, command: ConsentWithdrawalIn) -> asyncpg.Record:
    refuse_resident_numbers({"note": command.note})
    await _lock_business(uow, business_id)
    current = await uow.conn.fetchrow(
        "select * from consents where id = $1 and business_id = $2 for update", consent_id, business_id
    )
    if current is None:
        raise Problem(404, "Consent not found", f"business {business_id} has no consent {consent_id}")
    now = _now()
    when = command.withdrawn_at or now
    try:
        consent_rules.check_withdrawal(given_at=current["given_at"], withdrawn_at=current["withdrawn_at"], when=when, now=now)
    except consent_rules.ConsentRefused as refused:
        if refused.field == "consent":
            raise Problem(409, "Consent already withdrawn", f"consent {consent_id} {refused.message}") from None
        raise Problem.invalid(refused.field, refused.message) from None
    row = await uow.conn.fetchrow(
        "update consents set withdrawn_at = $2, withdrawal_note = $3 where id = $1 returning *", consent_id, when, command.note
    )
    await uow.emit(ConsentWithdrawn(consent_id=consent_id, business_id=business_id, agencies=row["agencies"], withdrawn_at=row["withdrawn_at"]))
    return row


# ---------------------------------------------------------------- support requests


async def request_support(uow: UnitOfWork, command: SupportRequestIn) -> asyncpg.Record:
    refuse_resident_numbers({"note": command.note})
    requested_on = command.requested_on or date.today()
    try:
        needs = support.check_request(
            needs=command.needs, channel=command.channel, visit_id=command.visit_id, requested_on=requested_on, today=date.today()
        )
    except support.SupportRequestRefused as refused:
        raise Problem.invalid(refused.field, refused.message) from None
    exists = await uow.conn.fetchval("select true from businesses where id = $1 for share", command.business_id)
    if not exists:
        raise Problem.invalid("business_id", f"no business {command.business_id}")
    row = await uow.conn.fetchrow(
        """insert into support_requests (id, business_id, needs, channel, visit_id, requested_on, note)
           values ($1, $2, $3, $4, $5, $6, $7) returning *""",
        uuid6.uuid7(), command.business_id, [n.value for n in needs], command.channel.value, command.visit_id, requested_on, command.note,
    )
    # The note stays here: free text may name people.
    await uow.emit(
        SupportRequested(request_id=row["id"], business_id=command.business_id, needs=needs, channel=command.channel, requested_on=requested_on)
    )
    return row


# ---------------------------------------------------------------- erasure


async def scrub_timeline(conn: asyncpg.Connection, business_id: UUID, until: datetime) -> int:
    """Blank the free text of the business's timeline entries up to `until`; how many changed."""
    rows = await conn.fetch(
        "select event_id, event_type, data from timeline where business_id = $1 and occurred_at <= $2 for update", business_id, until
    )
    changed = 0
    for row in rows:
        scrubbed = timeline.scrub(row["data"])
        if scrubbed != row["data"]:
            await conn.execute(
                "update timeline set data = $2, summary = $3 where event_id = $1",
                row["event_id"], scrubbed, timeline.summarize(row["event_type"], scrubbed),
            )
            changed += 1
    return changed


async def erase_personal_data(uow: UnitOfWork, business_id: UUID, command: ErasureIn, recorded_by: str) -> dict[str, Any]:
    """Remove the owner's personal data; the business and the audit facts of its consents stay."""
    await _lock_business(uow, business_id)
    conn = uow.conn
    erased_at = await conn.fetchval(
        "update businesses set erased_at = clock_timestamp(), updated_at = now() where id = $1 returning erased_at", business_id
    )
    # Consents first: their owner link goes before the owners do.
    consents = await conn.execute(
        """update consents set owner_id = null, signed_by = null, note = null, withdrawal_note = null
           where business_id = $1 and (owner_id is not null or signed_by is not null or note is not null or withdrawal_note is not null)""",
        business_id,
    )
    owners = await conn.execute("delete from owners where business_id = $1", business_id)
    notes = await conn.execute("update support_requests set note = null where business_id = $1 and note is not null", business_id)
    # Stored answers of earlier POSTs hold copies (an owner's name and phone, notes).
    await conn.execute(
        """delete from idempotency_keys where response ->> 'business_id' = $1::text and scope not like 'POST /businesses/{id}/erasure:%'""",
        str(business_id),
    )
    scrubbed = await scrub_timeline(conn, business_id, erased_at)
    requested_on = command.requested_on or date.today()
    await conn.execute(
        "insert into erasures (id, business_id, erased_at, requested_on, recorded_by) values ($1, $2, $3, $4, $5)",
        uuid6.uuid7(), business_id, erased_at, requested_on, recorded_by,
    )
    await uow.emit(BusinessErased(business_id=business_id, erased_at=erased_at))
    return {
        "business_id": business_id,
        "erased_at": erased_at,
        "requested_on": requested_on,
        "owners_deleted": int(owners.split()[-1]),
        "consents_anonymised": int(consents.split()[-1]),
        "support_notes_blanked": int(notes.split()[-1]),
        "timeline_entries_scrubbed": scrubbed,
    }
