"""Commands: each runs in one unit of work (an HTTP command's, or the consumer's inbox
transaction) and emits its events through the outbox (`tx.emit`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol
from uuid import UUID

import asyncpg
import uuid6

from sangsaeng_common.contracts import Event
from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.intake import BusinessErased, SupportRequested
from sangsaeng_common.contracts.visits import VisitCancelled, VisitRecorded, VisitScheduled
from sangsaeng_common.envelope import Envelope
from sangsaeng_common.http import Problem
from sangsaeng_common.logging import get_logger
from sangsaeng_common.pii import contains_resident_number
from visits.config import VisitPolicy
from visits.domain import planning, recording
from visits.domain.planning import Planner
from visits.models import CancelIn, ReassignIn, RecordIn, ScheduleIn

log = get_logger(__name__)

SEOUL = timezone(timedelta(hours=9))  # Korea keeps no daylight saving time


def today_in_seoul() -> date:
    return datetime.now(SEOUL).date()


class Tx(Protocol):
    """A transaction that can emit events: a UnitOfWork or a consumer's EventContext."""

    @property
    def conn(self) -> asyncpg.Connection: ...

    async def emit(self, event: Event) -> Envelope: ...


class UnknownBusiness(LookupError):
    """An event names a business visits never heard of: its events are out of order or lost."""


def invalid(errors: list[tuple[str, str]]) -> Problem:
    """422 naming every offending field (the shape of Problem.invalid)."""
    return Problem(
        422,
        "Invalid request",
        "; ".join(f"{field}: {message}" for field, message in errors),
        errors=[{"field": field, "message": message} for field, message in errors],
    )


# ---------------------------------------------------------------- planners and bookings


async def load_planners(conn: asyncpg.Connection, ids: list[str] | None = None) -> list[Planner]:
    rows = await conn.fetch(
        """select p.id, p.daily_capacity, p.active, coalesce(array_agg(t.dong) filter (where t.dong is not null), '{}') as territory
           from planners p left join planner_territories t on t.planner_id = p.id
           where $1::text[] is null or p.id = any($1::text[])
           group by p.id order by p.id""",
        ids,
    )
    return [Planner(r["id"], frozenset(r["territory"]), r["daily_capacity"], r["active"]) for r in rows]


async def _lock_planners(conn: asyncpg.Connection, ids: list[str]) -> None:
    await conn.execute("select id from planners where id = any($1::text[]) order by id for update", ids)


async def _covering_planners_locked(conn: asyncpg.Connection, dong: str) -> list[Planner]:
    ids = await conn.fetch(
        "select distinct planner_id from planner_territories where dong = any($1::text[])", list(planning.territory_dongs(dong))
    )
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
    await _lock_planners(conn, sorted(r["planner_id"] for r in ids))
    return await load_planners(conn, sorted(r["planner_id"] for r in ids))


async def _bookings(conn: asyncpg.Connection, planner_ids: list[str], first: date, last: date) -> dict[tuple[str, date], int]:
    rows = await conn.fetch(
        """select planner_id, scheduled_for, count(*) as n from visits
           where planner_id = any($1::text[]) and status <> 'cancelled' and scheduled_for between $2 and $3
           group by planner_id, scheduled_for""",
        planner_ids, first, last,
    )
    return {(r["planner_id"], r["scheduled_for"]): r["n"] for r in rows}


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
    bookings = await _bookings(tx.conn, [p.id for p in planners], first, last)
    assignment = planning.assign(business["dong"], earliest, planners, bookings, horizon_days=policy.horizon_days)
    if assignment.over_capacity:
        log.warning("no covering planner has room; overbooked", dong=business["dong"], planner=assignment.planner_id)
    row = await tx.conn.fetchrow(
        """insert into visits (id, business_id, dong, planner_id, status, scheduled_for, needs, origin, request_id,
                               over_capacity, rescheduled_from)
           values ($1, $2, $3, $4, 'scheduled', $5, $6, $7, $8, $9, $10) returning *""",
        uuid6.uuid7(), business["id"], business["dong"], assignment.planner_id, assignment.scheduled_for,
        [n.value for n in needs], origin, request_id, assignment.over_capacity, rescheduled_from,
    )
    await tx.emit(_scheduled(row))
    return row


def _scheduled(row: asyncpg.Record, reassigned_from: str | None = None) -> VisitScheduled:
    return VisitScheduled(
        visit_id=row["id"], business_id=row["business_id"], planner_id=row["planner_id"], dong=row["dong"],
        scheduled_for=row["scheduled_for"], needs=[Need(n) for n in row["needs"]], reassigned_from=reassigned_from,
    )


async def _business(conn: asyncpg.Connection, business_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select id, dong, erased_at from businesses where id = $1", business_id)


async def _open_visit(conn: asyncpg.Connection, business_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from visits where business_id = $1 and status = 'scheduled' for update", business_id)


async def _locked_visit(conn: asyncpg.Connection, visit_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        """select v.*, b.erased_at from visits v join businesses b on b.id = v.business_id
           where v.id = $1 for update of v""",
        visit_id,
    )
    if row is None:
        raise Problem(404, "Visit not found", f"no visit {visit_id}")
    return row


def _refuse_if_not_open(visit: asyncpg.Record, doing: str) -> None:
    if visit["status"] != "scheduled":
        raise Problem(409, f"Visit is {visit['status']}", f"visit {visit['id']} is {visit['status']}; only a scheduled visit can be {doing}",
                      status_now=visit["status"])


def _already_open(existing: asyncpg.Record | UUID) -> Problem:
    visit_id = existing if isinstance(existing, UUID) else existing["id"]
    return Problem(409, "Visit already scheduled", f"the business has an open visit {visit_id}",
                   headers={"Location": f"/visits/{visit_id}"}, existing_id=str(visit_id))


# ---------------------------------------------------------------- scheduling


async def schedule_visit(tx: Tx, policy: VisitPolicy, command: ScheduleIn, today: date) -> asyncpg.Record:
    """Staff asks for a visit."""
    business = await _business(tx.conn, command.business_id)
    if business is None:
        raise Problem.invalid("business_id", f"visits knows no business {command.business_id} (unknown, or intake's event has not arrived yet)")
    if business["erased_at"] is not None:
        raise Problem(409, "Business erased", f"business {command.business_id} was erased on the owner's request")
    if command.scheduled_for is not None and command.scheduled_for < today:
        raise Problem.invalid("scheduled_for", f"is in the past (today is {today.isoformat()} in Seoul)")
    if (existing := await _open_visit(tx.conn, business["id"])) is not None:
        raise _already_open(existing)
    earliest = command.scheduled_for or today + timedelta(days=policy.lead_days)
    try:
        async with tx.conn.transaction():  # savepoint: a lost race for the open-visit slot leaves the unit usable
            return await _assign_and_insert(tx, policy, business, earliest, recording.unique(command.needs), origin="staff")
    except asyncpg.UniqueViolationError:
        raise _already_open(await tx.conn.fetchval(
            "select id from visits where business_id = $1 and status = 'scheduled'", business["id"])) from None
    except planning.NoPlannerCovers as exc:
        raise Problem(409, "No planner covers the dong", str(exc), dong=exc.dong) from None


async def schedule_from_request(tx: Tx, policy: VisitPolicy, event: SupportRequested) -> asyncpg.Record | None:
    """A support request whose needs call for a visit schedules one; a business with an
    open visit already gets the new needs added to it (re-announced as VisitScheduled)."""
    if not recording.calls_for_visit(event.needs, policy.visit_needs):
        return None
    if await tx.conn.fetchval("select 1 from visits where request_id = $1", event.request_id):
        return None  # this request was handled (the inbox makes this rare: same request, new event id)
    business = await _business(tx.conn, event.business_id)
    if business is None:
        raise UnknownBusiness(f"SupportRequested for business {event.business_id}, which visits never learnt of")
    if business["erased_at"] is not None:
        log.info("support request for an erased business: no visit", business_id=str(event.business_id))
        return None
    if (existing := await _open_visit(tx.conn, business["id"])) is not None:
        return await _join(tx, existing, event.needs)
    earliest = event.requested_on + timedelta(days=policy.lead_days)
    try:
        async with tx.conn.transaction():
            return await _assign_and_insert(
                tx, policy, business, earliest, recording.unique(event.needs), origin="support_request", request_id=event.request_id
            )
    except asyncpg.UniqueViolationError:  # staff scheduled one for this shop a moment ago
        existing = await _open_visit(tx.conn, business["id"])
        assert existing is not None
        return await _join(tx, existing, event.needs)


async def _join(tx: Tx, visit: asyncpg.Record, needs: list[Need]) -> asyncpg.Record:
    merged = recording.unique([*(Need(n) for n in visit["needs"]), *needs])
    if merged == [Need(n) for n in visit["needs"]]:
        return visit
    row = await tx.conn.fetchrow(
        "update visits set needs = $2, updated_at = now() where id = $1 returning *", visit["id"], [n.value for n in merged]
    )
    await tx.emit(_scheduled(row))
    return row


# ---------------------------------------------------------------- recording


async def record_visit(tx: Tx, visit_id: UUID, command: RecordIn, today: date) -> asyncpg.Record:
    visit = await _locked_visit(tx.conn, visit_id)
    if visit["erased_at"] is not None:
        raise Problem(409, "Business erased", f"business {visit['business_id']} was erased on the owner's request")
    if visit["status"] == "recorded":
        raise Problem(409, "Visit already recorded", f"visit {visit_id} was recorded on {visit['visited_on']}", status_now="recorded")
    _refuse_if_not_open(visit, "recorded")
    dong = await tx.conn.fetchval("select dong from businesses where id = $1", visit["business_id"])
    planners = await load_planners(tx.conn, [command.planner_id])
    errors = recording.record_errors(
        recording.RecordCheck(
            visited_on=command.visited_on, today=today, planner_id=command.planner_id,
            planner=planners[0] if planners else None, dong=dong, outcome=command.outcome,
            services_given=command.services_given, follow_ups=command.follow_ups, override_reason=command.override_reason,
            texts=recording.free_texts(notes=command.notes, override_reason=command.override_reason,
                                       services_given=command.services_given, follow_ups=command.follow_ups),
        )
    )
    if errors:
        raise invalid(errors)
    needs = recording.unique(command.needs_identified)
    row = await tx.conn.fetchrow(
        """update visits set status = 'recorded', visited_on = $2, visited_by = $3, outcome = $4, stage_observed = $5,
                  needs_identified = $6, services_given = $7, notes = $8, override_reason = $9, dong = $10,
                  recorded_at = now(), updated_at = now()
           where id = $1 returning *""",
        visit_id, command.visited_on, command.planner_id, command.outcome.value,
        command.stage_observed.value if command.stage_observed else None, [n.value for n in needs],
        command.services_given, command.notes, command.override_reason, dong,
    )
    await tx.conn.executemany(
        "insert into follow_ups (visit_id, position, action, due_on) values ($1, $2, $3, $4)",
        [(visit_id, i + 1, f.action, f.due_on) for i, f in enumerate(command.follow_ups)],
    )
    # Needs identified reach loans and referrals through this event only; notes never leave.
    await tx.emit(
        VisitRecorded(
            visit_id=visit_id, business_id=row["business_id"], planner_id=command.planner_id, dong=dong,
            visited_on=command.visited_on, outcome=command.outcome, stage_observed=command.stage_observed,
            needs_identified=needs, services_given=command.services_given, follow_ups=command.follow_ups,
        )
    )
    return row


async def complete_follow_up(tx: Tx, visit_id: UUID, position: int, done_on: date) -> asyncpg.Record:
    row = await tx.conn.fetchrow(
        "update follow_ups set done_on = coalesce(done_on, $3) where visit_id = $1 and position = $2 returning *",
        visit_id, position, done_on,
    )
    if row is None:
        raise Problem(404, "Follow-up not found", f"visit {visit_id} has no follow-up {position}")
    return row


# ---------------------------------------------------------------- cancelling and reassigning


async def cancel_visit(tx: Tx, policy: VisitPolicy, visit_id: UUID, command: CancelIn, today: date) -> asyncpg.Record:
    visit = await _locked_visit(tx.conn, visit_id)
    _refuse_if_not_open(visit, "cancelled")
    if contains_resident_number(command.reason):
        raise Problem.invalid("reason", "contains a resident registration number (주민등록번호), which is never stored")
    if command.reschedule_to is not None:
        if command.reschedule_to < today:
            raise Problem.invalid("reschedule_to", f"is in the past (today is {today.isoformat()} in Seoul)")
        if visit["erased_at"] is not None:
            raise Problem(409, "Business erased", f"business {visit['business_id']} was erased; it gets no new visit")
    await tx.conn.execute(
        "update visits set status = 'cancelled', cancel_reason = $2, cancelled_at = now(), updated_at = now() where id = $1",
        visit_id, command.reason,
    )
    new_id = None
    if command.reschedule_to is not None:
        business = await _business(tx.conn, visit["business_id"])
        try:
            new = await _assign_and_insert(
                tx, policy, business, command.reschedule_to, [Need(n) for n in visit["needs"]],
                origin="reschedule", rescheduled_from=visit_id, request_id=None,
            )
        except planning.NoPlannerCovers as exc:
            raise Problem(409, "No planner covers the dong", str(exc), dong=exc.dong) from None
        new_id = new["id"]
    row = await tx.conn.fetchrow("update visits set rescheduled_visit_id = $2 where id = $1 returning *", visit_id, new_id)
    # The new visit's VisitScheduled went out first, so a reader never meets an unknown rescheduled_visit_id.
    await tx.emit(VisitCancelled(visit_id=visit_id, business_id=visit["business_id"], reason=command.reason, rescheduled_visit_id=new_id))
    return row


async def reassign_visit(tx: Tx, visit_id: UUID, command: ReassignIn) -> asyncpg.Record:
    visit = await _locked_visit(tx.conn, visit_id)
    _refuse_if_not_open(visit, "reassigned")
    if command.planner_id == visit["planner_id"]:
        return visit
    # Same lock order as scheduling (planner ids ascending): see _covering_planners_locked.
    await _lock_planners(tx.conn, sorted({visit["planner_id"], command.planner_id}))
    planners = await load_planners(tx.conn, [command.planner_id])
    if not planners or not planners[0].active:
        raise Problem.invalid("planner_id", f"no active planner {command.planner_id}")
    if command.override_reason and contains_resident_number(command.override_reason):
        raise Problem.invalid("override_reason", "contains a resident registration number (주민등록번호), which is never stored")
    if not planners[0].covers(visit["dong"]) and not (command.override_reason or "").strip():
        raise Problem.invalid("override_reason", f"{command.planner_id} does not cover {visit['dong']}; give an override_reason")
    row = await tx.conn.fetchrow(
        "update visits set planner_id = $2, reassign_reason = $3, updated_at = now() where id = $1 returning *",
        visit_id, command.planner_id, command.override_reason,
    )
    await tx.emit(_scheduled(row, reassigned_from=visit["planner_id"]))
    return row


# ---------------------------------------------------------------- erasure


async def erase_business(tx: Tx, event: BusinessErased) -> None:
    """Remove what visits holds about the owner; keep the non-personal facts (dong,
    industry, stage, visit dates, outcomes, needs) for statistics. The directory's row was
    anonymised already (sangsaeng_common.directory): this is the visits' part."""
    await tx.conn.execute(
        "update visits set notes = null, override_reason = null, reassign_reason = null, updated_at = now() where business_id = $1",
        event.business_id,
    )
    open_visits = await tx.conn.fetch(
        """update visits set status = 'cancelled', cancel_reason = 'business erased', cancelled_at = now()
           where business_id = $1 and status = 'scheduled' returning id""",
        event.business_id,
    )
    for visit in open_visits:
        await tx.emit(VisitCancelled(visit_id=visit["id"], business_id=event.business_id, reason="business erased"))
