"""Intake's command handlers: each runs one command in one unit of work (`tx`), decides with
the domain rules, writes through the repository and emits its events through the outbox.

They raise only domain errors (sangsaeng_common.errors); the entrypoints say what those
mean over HTTP. Personal data (owners, who signed, notes) never goes into an event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import uuid6

from intake.adapters import repository
from intake.domain import business as rules
from intake.domain import consent as consent_rules
from intake.domain import registration, support, timeline
from intake.service_layer.commands import (
    AddOwner,
    AssignSupportRequest,
    ChangeDetails,
    ChangeStage,
    CloseSupportRequest,
    ErasePersonalData,
    GiveConsent,
    RegisterBusiness,
    RequestSupport,
    ResolveSupportRequest,
    StartSupportRequest,
    TimelineEvent,
    WithdrawConsent,
)
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts import Event
from sangsaeng_common.contracts.intake import (
    BusinessDetail,
    BusinessDetailsChanged,
    BusinessErased,
    BusinessRegistered,
    BusinessStageChanged,
    ConsentGiven,
    ConsentWithdrawn,
    Stage,
    stage_reason_code_of_text,
    SupportRequestAssigned,
    SupportRequestClosed,
    SupportRequested,
    SupportRequestResolved,
    SupportRequestStarted,
)
from sangsaeng_common.errors import Conflict, NotFound, invalid
from sangsaeng_common.pii import refuse_resident_numbers
from sangsaeng_common.tx import Tx


def _today(clock: SeoulClock) -> date:
    """The day a stage change, support request or erasure defaults to: the server's own
    date (intake has always used it; the tests compare it with their `date.today()`), on
    the injected clock. Not `clock.today()`: the Seoul date is a day ahead from 15:00 UTC."""
    return clock.now().astimezone().date()


def business_not_found(business_id: UUID) -> NotFound:
    return NotFound("Business not found", f"no business {business_id}")


async def register_business(tx: Tx, cmd: RegisterBusiness) -> asyncpg.Record:
    refuse_resident_numbers(vars(cmd))
    if (problem := rules.dong_error(cmd.dong, cmd.registered_on)) is not None:
        raise invalid("dong", problem)
    if cmd.registration_number is None and cmd.stage is not Stage.prospective:
        raise invalid("registration_number", "required unless the stage is prospective (a would-be founder)")
    business_id = uuid6.uuid7()
    micro = rules.is_micro_business(cmd.industry, cmd.employees)
    kind = registration.business_kind(cmd.registration_number) if cmd.registration_number else None
    announce = BusinessRegistered(
        business_id=business_id,
        registration_number=cmd.registration_number,
        name=cmd.name,
        dong=cmd.dong,
        industry=cmd.industry,
        employees=cmd.employees,
        is_micro_business=micro,
        stage=cmd.stage,
        registered_on=cmd.registered_on,
    )
    # The row and its event in one statement: without an Idempotency-Key that is the whole
    # command, one round trip (see the route's one_statement).
    row = await repository.insert_business(
        tx, announce, business_id=business_id, registration_number=cmd.registration_number, business_kind=kind, name=cmd.name,
        dong=cmd.dong, address=cmd.address, industry=cmd.industry, employees=cmd.employees, is_micro_business=micro,
        stage=cmd.stage.value, registered_on=cmd.registered_on,
    )
    if row is None:
        assert cmd.registration_number is not None  # a new id clashes with nothing else
        existing = await repository.business_with_number(tx.conn, cmd.registration_number)
        raise Conflict(
            "Business already registered",
            f"registration_number {cmd.registration_number} belongs to business {existing}",
            existing_id=str(existing),
        )
    return row


async def change_stage(tx: Tx, cmd: ChangeStage, clock: SeoulClock) -> asyncpg.Record:
    refuse_resident_numbers({"reason": cmd.reason})
    current = await repository.lock_stage(tx.conn, cmd.business_id)
    if current is None:
        raise business_not_found(cmd.business_id)
    try:
        rules.check_stage_move(Stage(current), cmd.stage)
    except rules.StageChangeRefused as refused:
        raise Conflict(
            "Stage change refused", str(refused), current=refused.current.value, allowed=[s.value for s in refused.allowed]
        ) from None
    row = await repository.set_stage(tx.conn, cmd.business_id, cmd.stage.value)
    # The event carries the code; the words stay in stage_changes (blanked on erasure).
    reason_code = cmd.reason_code or stage_reason_code_of_text(cmd.reason)
    event = BusinessStageChanged(
        business_id=cmd.business_id, from_stage=Stage(current), to_stage=cmd.stage, reason_code=reason_code,
        changed_on=cmd.changed_on or _today(clock),
    )
    envelope = await tx.emit(event)
    await repository.add_stage_change(
        tx.conn, event_id=envelope.id, business_id=cmd.business_id, from_stage=current, to_stage=cmd.stage.value,
        reason_code=reason_code.value, reason=cmd.reason, changed_on=event.changed_on,
    )
    return row


async def change_details(tx: Tx, cmd: ChangeDetails, clock: SeoulClock) -> asyncpg.Record:
    """Merge-patch the business's details; BusinessDetailsChanged names what changed (the
    address by name only). A patch that changes nothing answers the business as it is, with
    no event, so a repeated PATCH is harmless even without an Idempotency-Key."""
    refuse_resident_numbers({k: v for k, v in cmd.patch.items() if isinstance(v, str)})
    current = await repository.lock_business_details(tx.conn, cmd.business_id)
    if current is None:
        raise business_not_found(cmd.business_id)
    if cmd.if_match is not None and cmd.if_match != current["version"]:
        raise Conflict(
            "Precondition failed", f"If-Match names version {cmd.if_match}; the business is at version {current['version']}",
            etag=etag_of(current),
        )
    today = _today(clock)
    try:
        change = rules.change_details(current, cmd.patch, today)
    except rules.DetailsRefused as refused:
        raise invalid(refused.field, refused.message) from None
    if not change.changed:
        return current
    row = await repository.set_business_details(tx.conn, cmd.business_id, change.changed, change.is_micro_business)
    travels = {k: v for k, v in change.changed.items() if k != "address"}  # the address stays in intake
    await tx.emit(
        BusinessDetailsChanged(
            business_id=cmd.business_id, changed=[BusinessDetail(k) for k in change.changed], **travels,
            is_micro_business=change.is_micro_business if change.micro_changed else None, changed_on=today,
        )
    )
    return row


def etag_of(business: asyncpg.Record) -> str:
    """The business's ETag: its details' version (moves on with every change of details)."""
    return f'"{business["version"]}"'


async def _lock_business(tx: Tx, business_id: UUID) -> asyncpg.Record:
    """The business row, locked for this unit of work (its erasure waits for us, and we for it); NotFound if none."""
    row = await repository.lock_business(tx.conn, business_id)
    if row is None:
        raise business_not_found(business_id)
    return row


# ---------------------------------------------------------------- owners (personal data: never in an event)


async def add_owner(tx: Tx, cmd: AddOwner) -> asyncpg.Record:
    refuse_resident_numbers({"name": cmd.name, "relation": cmd.relation, "phone": cmd.phone, "email": cmd.email})
    await _lock_business(tx, cmd.business_id)
    return await repository.insert_owner(
        tx.conn, owner_id=uuid6.uuid7(), business_id=cmd.business_id, relation=cmd.relation, name=cmd.name.strip(),
        phone=cmd.phone, email=cmd.email,
    )


# ---------------------------------------------------------------- consent


async def give_consent(tx: Tx, cmd: GiveConsent, clock: SeoulClock) -> asyncpg.Record:
    refuse_resident_numbers({"signed_by": cmd.signed_by, "note": cmd.note})
    now = clock.now()
    given_at = cmd.given_at or now
    try:
        consent_rules.check_moment("given_at", given_at, now)
    except consent_rules.ConsentRefused as refused:
        raise invalid(refused.field, refused.message) from None
    await _lock_business(tx, cmd.business_id)
    if cmd.owner_id is not None:
        if await repository.business_of_owner(tx.conn, cmd.owner_id) != cmd.business_id:
            raise invalid("owner_id", f"no owner {cmd.owner_id} of business {cmd.business_id}")
    agencies = consent_rules.agencies_in_order(cmd.agencies)
    row = await repository.insert_consent(
        tx.conn, consent_id=uuid6.uuid7(), business_id=cmd.business_id, agencies=[a.value for a in agencies], given_at=given_at,
        owner_id=cmd.owner_id, signed_by=cmd.signed_by, note=cmd.note,
    )
    # Times as stored (UTC), so the event and the API tell the same time the same way.
    await tx.emit(ConsentGiven(consent_id=row["id"], business_id=cmd.business_id, agencies=agencies, given_at=row["given_at"]))
    return row


async def withdraw_consent(tx: Tx, cmd: WithdrawConsent, clock: SeoulClock) -> asyncpg.Record:
    refuse_resident_numbers({"note": cmd.note})
    await _lock_business(tx, cmd.business_id)
    current = await repository.lock_consent(tx.conn, cmd.business_id, cmd.consent_id)
    if current is None:
        raise NotFound("Consent not found", f"business {cmd.business_id} has no consent {cmd.consent_id}")
    now = clock.now()
    when = cmd.withdrawn_at or now
    try:
        consent_rules.check_withdrawal(given_at=current["given_at"], withdrawn_at=current["withdrawn_at"], when=when, now=now)
    except consent_rules.ConsentRefused as refused:
        if refused.field == "consent":
            raise Conflict("Consent already withdrawn", f"consent {cmd.consent_id} {refused.message}") from None
        raise invalid(refused.field, refused.message) from None
    row = await repository.withdraw_consent(tx.conn, cmd.consent_id, when, cmd.note)
    await tx.emit(
        ConsentWithdrawn(consent_id=cmd.consent_id, business_id=cmd.business_id, agencies=row["agencies"], withdrawn_at=row["withdrawn_at"])
    )
    return row


# ---------------------------------------------------------------- support requests


async def request_support(tx: Tx, cmd: RequestSupport, clock: SeoulClock) -> asyncpg.Record:
    refuse_resident_numbers({"note": cmd.note})
    today = _today(clock)
    requested_on = cmd.requested_on or today
    try:
        needs = support.check_request(needs=cmd.needs, channel=cmd.channel, visit_id=cmd.visit_id, requested_on=requested_on, today=today)
    except support.SupportRequestRefused as refused:
        raise invalid(refused.field, refused.message) from None
    if not await repository.share_business(tx.conn, cmd.business_id):
        raise invalid("business_id", f"no business {cmd.business_id}")
    row = await repository.insert_support_request(
        tx.conn, request_id=uuid6.uuid7(), business_id=cmd.business_id, needs=[n.value for n in needs], channel=cmd.channel.value,
        visit_id=cmd.visit_id, requested_on=requested_on, note=cmd.note,
    )
    # The note stays here: free text may name people.
    await tx.emit(
        SupportRequested(request_id=row["id"], business_id=cmd.business_id, needs=needs, channel=cmd.channel, requested_on=requested_on)
    )
    return row


def support_request_not_found(request_id: UUID) -> NotFound:
    return NotFound("Support request not found", f"no support request {request_id}")


async def _take_step(
    tx: Tx, request_id: UUID, step: support.SupportStep, clock: SeoulClock, *, note: str | None, assignee: str | None = None,
    outcome: str | None = None, event: Callable[[asyncpg.Record, datetime], Event],
) -> asyncpg.Record:
    """One step of a request's life: the state machine decides, the row and the step's note
    are written, the step's event (ids and codes) is emitted."""
    refuse_resident_numbers({"note": note, "assignee": assignee})
    current = await repository.lock_support_request(tx.conn, request_id)
    if current is None:
        raise support_request_not_found(request_id)
    status = support.SupportStatus(current["status"])
    try:
        moved = support.move(status, current["assignee"], step, new_assignee=assignee)
    except support.SupportStepRefused as refused:
        raise Conflict(
            "Support request step refused", str(refused), current=refused.current.value, allowed=[s.value for s in refused.allowed]
        ) from None
    if not moved.changes:
        return current
    row = await repository.set_support_status(
        tx.conn, request_id, status=moved.status.value, assignee=moved.assignee, outcome=outcome
    )
    now = clock.now()
    envelope = await tx.emit(event(current, now))
    await repository.add_support_step(
        tx.conn, event_id=envelope.id, request_id=request_id, business_id=current["business_id"], step=step.value,
        status=moved.status.value, assignee=moved.assignee, outcome=outcome, note=note, actor=envelope.actor, taken_at=now,
    )
    return row


async def assign_support_request(tx: Tx, cmd: AssignSupportRequest, clock: SeoulClock) -> asyncpg.Record:
    def assigned(current: asyncpg.Record, now: datetime) -> Event:
        return SupportRequestAssigned(request_id=cmd.request_id, business_id=current["business_id"], assignee=cmd.assignee,
                                      previous_assignee=current["assignee"], assigned_at=now)

    return await _take_step(tx, cmd.request_id, support.SupportStep.assign, clock, note=cmd.note, assignee=cmd.assignee, event=assigned)


async def start_support_request(tx: Tx, cmd: StartSupportRequest, clock: SeoulClock) -> asyncpg.Record:
    def started(current: asyncpg.Record, now: datetime) -> Event:
        return SupportRequestStarted(request_id=cmd.request_id, business_id=current["business_id"], assignee=current["assignee"],
                                     started_at=now)

    return await _take_step(tx, cmd.request_id, support.SupportStep.start, clock, note=cmd.note, event=started)


async def resolve_support_request(tx: Tx, cmd: ResolveSupportRequest, clock: SeoulClock) -> asyncpg.Record:
    def resolved(current: asyncpg.Record, now: datetime) -> Event:
        return SupportRequestResolved(request_id=cmd.request_id, business_id=current["business_id"], outcome=cmd.outcome, resolved_at=now)

    return await _take_step(tx, cmd.request_id, support.SupportStep.resolve, clock, note=cmd.note, outcome=cmd.outcome.value,
                            event=resolved)


async def close_support_request(tx: Tx, cmd: CloseSupportRequest, clock: SeoulClock) -> asyncpg.Record:
    def closed(current: asyncpg.Record, now: datetime) -> Event:
        return SupportRequestClosed(request_id=cmd.request_id, business_id=current["business_id"], outcome=cmd.outcome, closed_at=now)

    return await _take_step(tx, cmd.request_id, support.SupportStep.close, clock, note=cmd.note, outcome=cmd.outcome.value, event=closed)


# ---------------------------------------------------------------- the timeline (fed by every service's events)


async def record_on_timeline(conn: asyncpg.Connection, events: list[TimelineEvent]) -> None:
    """Put events on their businesses' timelines: one lookup and one insert for the lot.

    An event that happened before its business's last erasure arrives with its free text
    blanked (the erasure could not scrub what was not here yet)."""
    if not events:
        return
    erased = await repository.erasure_times(conn, {event.business_id for event in events})
    rows = []
    for event in events:
        data = event.data
        erased_at = erased.get(event.business_id)
        if erased_at is not None and event.time <= erased_at:
            data = timeline.scrub(data)
        rows.append((event.event_id, event.business_id, event.type, event.source, event.time, timeline.summarize(event.type, data), data))
    await repository.insert_timeline_entries(conn, rows)


async def scrub_timeline(conn: asyncpg.Connection, business_id: UUID, until: datetime) -> int:
    """Blank the free text of the business's timeline entries up to `until`; how many changed."""
    changed = 0
    for row in await repository.lock_timeline_until(conn, business_id, until):
        scrubbed = timeline.scrub(row["data"])
        if scrubbed != row["data"]:
            await repository.rewrite_timeline_entry(conn, row["event_id"], scrubbed, timeline.summarize(row["event_type"], scrubbed))
            changed += 1
    return changed


async def record_erasure_on_timeline(conn: asyncpg.Connection, event: TimelineEvent, erased_at: datetime) -> None:
    """BusinessErased on the timeline: the erasing command scrubbed the live timeline
    already; this makes a timeline rebuilt from the log come out the same."""
    await record_on_timeline(conn, [event])
    await scrub_timeline(conn, event.business_id, erased_at)


# ---------------------------------------------------------------- erasure


async def erase_personal_data(tx: Tx, cmd: ErasePersonalData, clock: SeoulClock) -> dict[str, Any]:
    """Remove the owner's personal data; the business and the audit facts of its consents stay."""
    business_id, conn = cmd.business_id, tx.conn
    await _lock_business(tx, business_id)
    erased_at = await repository.mark_erased(conn, business_id)
    # Consents first: their owner link goes before the owners do.
    consents = await repository.anonymise_consents(conn, business_id)
    owners = await repository.delete_owners(conn, business_id)
    notes = await repository.blank_support_notes(conn, business_id)
    notes += await repository.blank_support_step_notes(conn, business_id)
    stage_reasons = await repository.blank_stage_reasons(conn, business_id)
    await repository.forget_stored_answers(conn, business_id)
    scrubbed = await scrub_timeline(conn, business_id, erased_at)
    requested_on = cmd.requested_on or _today(clock)
    await repository.insert_erasure(
        conn, erasure_id=uuid6.uuid7(), business_id=business_id, erased_at=erased_at, requested_on=requested_on, recorded_by=cmd.recorded_by
    )
    await tx.emit(BusinessErased(business_id=business_id, erased_at=erased_at))
    return {
        "business_id": business_id,
        "erased_at": erased_at,
        "requested_on": requested_on,
        "owners_deleted": owners,
        "consents_anonymised": consents,
        "support_notes_blanked": notes,
        "stage_reasons_blanked": stage_reasons,
        "timeline_entries_scrubbed": scrubbed,
    }
