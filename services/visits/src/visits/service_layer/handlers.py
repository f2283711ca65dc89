"""Visits' command handlers: each runs in one unit of work (an HTTP command's, or the
consumer's inbox transaction: a `Tx`), decides with the domain rules, reads and writes
through visits.adapters.repository and emits its events through the outbox (`tx.emit`).

They raise only domain errors (sangsaeng_common.errors); the entrypoints say what those
mean over HTTP. Notes and other free text never go into an event."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.intake import BusinessDetailsChanged, BusinessRegistered
from sangsaeng_common.contracts.visits import (
    CancelReason, FollowUpDue, VisitCancelled, VisitRecorded, VisitScheduled, cancel_reason_code_of_text,
)
from sangsaeng_common.errors import Conflict, Invalid, NotFound, RuleBroken, invalid
from sangsaeng_common.logging import get_logger
from sangsaeng_common.pii import refuse_resident_numbers
from sangsaeng_common.tx import Tx
from visits.adapters import repository
from visits.config import VisitPolicy
from visits.domain import authority, planning, recording
from visits.domain.planning import Planner
from visits.service_layer.commands import (
    CancelVisit,
    CompleteFollowUp,
    ForgetBusiness,
    ReassignVisit,
    RecordVisit,
    ScheduleRequestedVisit,
    ScheduleVisit,
)

log = get_logger(__name__)


class UnknownBusiness(LookupError):
    """An event names a business visits never heard of: its events are out of order or lost."""


# ---------------------------------------------------------------- planners and bookings


async def _covering_planners_locked(conn: asyncpg.Connection, dong: str) -> list[Planner]:
    ids = await repository.planners_covering(conn, list(planning.territory_dongs(dong)))
    # LOCKING: the assignment reads every covering planner's bookings and then adds one.
    # Two visits scheduled at once for the same dong (or for dongs sharing a planner)
    # would otherwise both read the same loads under READ COMMITTED, both pick the same
    # "lightest" planner and overbook a day past its capacity. Locking the candidate
    # planner rows FOR UPDATE, always in id order (no deadlock between two schedulers
    # or with a reassignment, which locks in the same order), makes the second wait
    # until the first commits; its next statement sees the first's visit in the counts.
    # Schedulers with disjoint candidate sets never wait for each other. The locks go
    # with the transaction. (A cancellation only lowers a load and takes no lock: a
    # scheduler that read the old, higher load merely chose conservatively.)
    await repository.lock_planners(conn, ids)  # ids are sorted
    return await repository.load_planners(conn, ids)


async def _assign_and_insert(
    tx: Tx,
    policy: VisitPolicy,
    business: asyncpg.Record,
    earliest: date,
    needs: list[Need],
    *,
    origin: str,
    request_id: UUID | None = None,
    rescheduled_from: UUID | None = None,
) -> asyncpg.Record:
    planners = await _covering_planners_locked(tx.conn, business["dong"])
    first, last = planning.booking_window(earliest, policy.horizon_days)
    bookings = await repository.bookings(tx.conn, [p.id for p in planners], first, last)
    assignment = planning.assign(business["dong"], earliest, planners, bookings, horizon_days=policy.horizon_days)
    if assignment.over_capacity:
        log.warning("no covering planner has room; overbooked", dong=business["dong"], planner=assignment.planner_id)
    row = await repository.insert_visit(
        tx.conn, business_id=business["id"], dong=business["dong"], planner_id=assignment.planner_id,
        scheduled_for=assignment.scheduled_for, needs=[n.value for n in needs], origin=origin, request_id=request_id,
        over_capacity=assignment.over_capacity, rescheduled_from=rescheduled_from,
    )
    await tx.emit(_scheduled(row))
    return row


def _scheduled(row: asyncpg.Record, reassigned_from: str | None = None) -> VisitScheduled:
    return VisitScheduled(
        visit_id=row["id"], business_id=row["business_id"], planner_id=row["planner_id"], dong=row["dong"],
        scheduled_for=row["scheduled_for"], needs=[Need(n) for n in row["needs"]], reassigned_from=reassigned_from,
    )


async def _locked_visit(conn: asyncpg.Connection, visit_id: UUID) -> asyncpg.Record:
    row = await repository.visit_locked(conn, visit_id)
    if row is None:
        raise NotFound("Visit not found", f"no visit {visit_id}")
    return row


def _refuse_if_not_open(visit: asyncpg.Record, doing: str) -> None:
    if visit["status"] != "scheduled":
        raise Conflict(f"Visit is {visit['status']}", f"visit {visit['id']} is {visit['status']}; only a scheduled visit can be {doing}",
                       status_now=visit["status"])


def _already_open(visit_id: UUID) -> Conflict:
    """The business has an open visit (`existing_id`; the HTTP answer points at it)."""
    return Conflict("Visit already scheduled", f"the business has an open visit {visit_id}", existing_id=str(visit_id))


def _no_planner(exc: planning.NoPlannerCovers) -> Conflict:
    return Conflict("No planner covers the dong", str(exc), dong=exc.dong)


# ---------------------------------------------------------------- scheduling


async def schedule_visit(tx: Tx, cmd: ScheduleVisit, *, policy: VisitPolicy, today: date) -> asyncpg.Record:
    """Staff asks for a visit."""
    business = await repository.business(tx.conn, cmd.business_id)
    if business is None:
        raise invalid("business_id", f"visits knows no business {cmd.business_id} (unknown, or intake's event has not arrived yet)")
    if business["erased_at"] is not None:
        raise Conflict("Business erased", f"business {cmd.business_id} was erased on the owner's request")
    if cmd.scheduled_for is not None and cmd.scheduled_for < today:
        raise invalid("scheduled_for", f"is in the past (today is {today.isoformat()} in Seoul)")
    if (existing := await repository.open_visit_locked(tx.conn, business["id"])) is not None:
        raise _already_open(existing["id"])
    earliest = cmd.scheduled_for or today + timedelta(days=policy.lead_days)
    try:
        async with tx.conn.transaction():  # savepoint: a lost race for the open-visit slot leaves the unit usable
            return await _assign_and_insert(tx, policy, business, earliest, recording.unique(cmd.needs), origin="staff")
    except asyncpg.UniqueViolationError:
        raise _already_open(await repository.open_visit_id(tx.conn, business["id"])) from None
    except planning.NoPlannerCovers as exc:
        raise _no_planner(exc) from None


async def schedule_from_request(tx: Tx, cmd: ScheduleRequestedVisit, *, policy: VisitPolicy) -> asyncpg.Record | None:
    """A support request whose needs call for a visit schedules one; a business with an
    open visit already gets the new needs added to it (re-announced as VisitScheduled)."""
    if not recording.calls_for_visit(cmd.needs, policy.visit_needs):
        return None
    if await repository.request_handled(tx.conn, cmd.request_id):
        return None  # this request was handled (the inbox makes this rare: same request, new event id)
    business = await repository.business(tx.conn, cmd.business_id)
    if business is None:
        raise UnknownBusiness(f"SupportRequested for business {cmd.business_id}, which visits never learnt of")
    if business["erased_at"] is not None:
        log.info("support request for an erased business: no visit", business_id=str(cmd.business_id))
        return None
    if (existing := await repository.open_visit_locked(tx.conn, business["id"])) is not None:
        return await _join(tx, existing, cmd.needs)
    earliest = cmd.requested_on + timedelta(days=policy.lead_days)
    try:
        async with tx.conn.transaction():
            return await _assign_and_insert(
                tx, policy, business, earliest, recording.unique(cmd.needs), origin="support_request", request_id=cmd.request_id
            )
    except asyncpg.UniqueViolationError:  # staff scheduled one for this shop a moment ago
        existing = await repository.open_visit_locked(tx.conn, business["id"])
        assert existing is not None
        return await _join(tx, existing, cmd.needs)


async def _join(tx: Tx, visit: asyncpg.Record, needs: list[Need]) -> asyncpg.Record:
    merged = recording.unique([*(Need(n) for n in visit["needs"]), *needs])
    if merged == [Need(n) for n in visit["needs"]]:
        return visit
    row = await repository.set_needs(tx.conn, visit["id"], [n.value for n in merged])
    await tx.emit(_scheduled(row))
    return row


# ---------------------------------------------------------------- recording


async def record_visit(tx: Tx, cmd: RecordVisit, *, today: date) -> asyncpg.Record:
    visit = await _locked_visit(tx.conn, cmd.visit_id)
    if visit["erased_at"] is not None:
        raise Conflict("Business erased", f"business {visit['business_id']} was erased on the owner's request")
    if visit["status"] == "recorded":
        raise Conflict("Visit already recorded", f"visit {cmd.visit_id} was recorded on {visit['visited_on']}", status_now="recorded")
    _refuse_if_not_open(visit, "recorded")
    _refuse_unless_theirs(cmd.caller, visit, cmd.planner_id)
    dong = await repository.business_dong(tx.conn, visit["business_id"])
    # The visit names its planner; naming another one is checked like any (active, covers the dong).
    planner_id = cmd.planner_id or visit["planner_id"]
    planners = await repository.load_planners(tx.conn, [planner_id])
    # The record's rules name every fault at once, resident numbers in its free text
    # among them (recording.record_errors: one 422 listing them all).
    errors = recording.record_errors(
        recording.RecordCheck(
            visited_on=cmd.visited_on, today=today, planner_id=planner_id,
            planner=planners[0] if planners else None, dong=dong, outcome=cmd.outcome,
            services_given=cmd.services_given, follow_ups=cmd.follow_ups, override_reason=cmd.override_reason,
            texts=recording.free_texts(notes=cmd.notes, override_reason=cmd.override_reason,
                                       services_given=cmd.services_given, follow_ups=cmd.follow_ups),
        )
    )
    if errors:
        raise Invalid(errors)
    if planner_id != visit["planner_id"]:
        # Staff record on behalf of a planner other than the assigned one: the visit is theirs
        # first (VisitScheduled, reassigned_from), so that every VisitRecorded names the visit's
        # assigned planner and an auditor can check that over the log. The record's checks
        # above (active, covers the dong or an override_reason) hold for the new planner.
        await repository.lock_planners(tx.conn, sorted({visit["planner_id"], planner_id}))
        reassigned = await repository.reassign(tx.conn, cmd.visit_id, planner_id, cmd.override_reason)
        await tx.emit(_scheduled(reassigned, reassigned_from=visit["planner_id"]))
    needs = recording.unique(cmd.needs_identified)
    row = await repository.record(
        tx.conn, cmd.visit_id, visited_on=cmd.visited_on, visited_by=planner_id, outcome=cmd.outcome.value,
        stage_observed=cmd.stage_observed.value if cmd.stage_observed else None, needs_identified=[n.value for n in needs],
        services_given=cmd.services_given, notes=cmd.notes, override_reason=cmd.override_reason, dong=dong,
    )
    await repository.add_follow_ups(tx.conn, cmd.visit_id, cmd.follow_ups)
    # Needs identified reach loans and referrals through this event only; notes never leave.
    await tx.emit(
        VisitRecorded(
            visit_id=cmd.visit_id, business_id=row["business_id"], planner_id=planner_id, dong=dong,
            visited_on=cmd.visited_on, outcome=cmd.outcome, stage_observed=cmd.stage_observed,
            needs_identified=needs, services_given_count=len(cmd.services_given),
            # The planner's words (services given, what to follow up) stay in visits' tables.
            follow_ups=[FollowUpDue(number=i + 1, due_on=f.due_on) for i, f in enumerate(cmd.follow_ups)],
        )
    )
    return row


def _refuse_unless_theirs(caller: authority.Caller, visit: asyncpg.Record, named: str | None = None) -> None:
    if (why := authority.refusal(caller, visit["planner_id"], named)) is not None:
        raise RuleBroken(authority.OWN_VISITS_ONLY, why)


async def complete_follow_up(tx: Tx, cmd: CompleteFollowUp, *, today: date) -> asyncpg.Record:
    visit = await repository.visit(tx.conn, cmd.visit_id)
    if visit is None:
        raise NotFound("Visit not found", f"no visit {cmd.visit_id}")
    _refuse_unless_theirs(cmd.caller, visit)
    row = await repository.complete_follow_up(tx.conn, cmd.visit_id, cmd.position, today)
    if row is None:
        raise NotFound("Follow-up not found", f"visit {cmd.visit_id} has no follow-up {cmd.position}")
    return row


# ---------------------------------------------------------------- cancelling and reassigning


async def cancel_visit(tx: Tx, cmd: CancelVisit, *, policy: VisitPolicy, today: date) -> asyncpg.Record:
    visit = await _locked_visit(tx.conn, cmd.visit_id)
    _refuse_if_not_open(visit, "cancelled")
    refuse_resident_numbers({"reason": cmd.reason})
    if cmd.reschedule_to is not None:
        if cmd.reschedule_to < today:
            raise invalid("reschedule_to", f"is in the past (today is {today.isoformat()} in Seoul)")
        if visit["erased_at"] is not None:
            raise Conflict("Business erased", f"business {visit['business_id']} was erased; it gets no new visit")
    await repository.cancel(tx.conn, cmd.visit_id, cmd.reason)
    new_id = None
    if cmd.reschedule_to is not None:
        business = await repository.business(tx.conn, visit["business_id"])
        try:
            new = await _assign_and_insert(
                tx, policy, business, cmd.reschedule_to, [Need(n) for n in visit["needs"]],
                origin="reschedule", rescheduled_from=cmd.visit_id, request_id=None,
            )
        except planning.NoPlannerCovers as exc:
            raise _no_planner(exc) from None
        new_id = new["id"]
    row = await repository.link_rescheduled(tx.conn, cmd.visit_id, new_id)
    # The new visit's VisitScheduled went out first, so a reader never meets an unknown rescheduled_visit_id.
    # The words stay in visits (cancel_reason); the event carries the code.
    reason_code = cmd.reason_code or cancel_reason_code_of_text(cmd.reason, rescheduled=new_id is not None)
    await tx.emit(VisitCancelled(visit_id=cmd.visit_id, business_id=visit["business_id"], reason_code=reason_code, rescheduled_visit_id=new_id))
    return row


async def reassign_visit(tx: Tx, cmd: ReassignVisit) -> asyncpg.Record:
    visit = await _locked_visit(tx.conn, cmd.visit_id)
    _refuse_if_not_open(visit, "reassigned")
    if cmd.planner_id == visit["planner_id"]:
        return visit
    # Same lock order as scheduling (planner ids ascending): see _covering_planners_locked.
    await repository.lock_planners(tx.conn, sorted({visit["planner_id"], cmd.planner_id}))
    planners = await repository.load_planners(tx.conn, [cmd.planner_id])
    if not planners or not planners[0].active:
        raise invalid("planner_id", f"no active planner {cmd.planner_id}")
    refuse_resident_numbers({"override_reason": cmd.override_reason})
    if not planners[0].covers(visit["dong"]) and not (cmd.override_reason or "").strip():
        raise invalid("override_reason", f"{cmd.planner_id} does not cover {visit['dong']}; give an override_reason")
    row = await repository.reassign(tx.conn, cmd.visit_id, cmd.planner_id, cmd.override_reason)
    await tx.emit(_scheduled(row, reassigned_from=visit["planner_id"]))
    return row


# ---------------------------------------------------------------- the directory's hooks (sangsaeng_common.directory)


async def count_businesses(conn: asyncpg.Connection, registered: list[BusinessRegistered]) -> None:
    """How many businesses each dong has (what a territory's load is weighed by): newly
    registered businesses, counted once each."""
    # In one order (by dong) in every transaction: two batches counting the same dongs
    # at once then wait for each other instead of deadlocking.
    per_dong = dict(sorted(Counter(e.dong for e in registered).items()))
    await repository.add_to_dong_counts(conn, list(per_dong), list(per_dong.values()))


async def move_dong_count(tx: Tx, event: BusinessDetailsChanged, before: Mapping[str, Any]) -> None:
    """A business that moved to another dong counts there from now on (and no more where it was)."""
    if "dong" not in before:
        return
    per_dong = dict(sorted({before["dong"]: -1, event.dong: 1}.items()))  # by dong, as count_businesses locks them
    await repository.add_to_dong_counts(tx.conn, list(per_dong), list(per_dong.values()))


async def forget_business(tx: Tx, cmd: ForgetBusiness) -> None:
    """Remove what visits holds about the owner; keep the non-personal facts (dong,
    industry, stage, visit dates, outcomes, needs) for statistics. The directory's row is
    anonymised already (sangsaeng_common.directory); this is the visits' part: their free
    text goes, and an open visit is cancelled (VisitCancelled)."""
    await repository.forget_free_texts(tx.conn, cmd.business_id)
    for visit_id in await repository.cancel_open_visits_of_erased(tx.conn, cmd.business_id):
        await tx.emit(VisitCancelled(visit_id=visit_id, business_id=cmd.business_id, reason_code=CancelReason.business_erased))
