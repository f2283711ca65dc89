"""What visits' commands read, lock and write, inside their unit of work: functions taking
the transaction's connection. The locking decisions are made (and explained) in
visits.service_layer.handlers; the statements that take the locks are here."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg
import uuid6

from sangsaeng_common.contracts.visits import FollowUp
from visits.domain.planning import Planner

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


async def lock_planners(conn: asyncpg.Connection, ids: list[str]) -> None:
    """FOR UPDATE on these planners' rows, in the order given (callers give id order)."""
    await conn.execute("select id from planners where id = any($1::text[]) order by id for update", ids)


async def planners_covering(conn: asyncpg.Connection, dongs: list[str]) -> list[str]:
    rows = await conn.fetch("select distinct planner_id from planner_territories where dong = any($1::text[])", dongs)
    return sorted(r["planner_id"] for r in rows)


async def bookings(conn: asyncpg.Connection, planner_ids: list[str], first: date, last: date) -> dict[tuple[str, date], int]:
    rows = await conn.fetch(
        """select planner_id, scheduled_for, count(*) as n from visits
           where planner_id = any($1::text[]) and status <> 'cancelled' and scheduled_for between $2 and $3
           group by planner_id, scheduled_for""",
        planner_ids, first, last,
    )
    return {(r["planner_id"], r["scheduled_for"]): r["n"] for r in rows}


# ---------------------------------------------------------------- the directory (as commands see it)


async def business(conn: asyncpg.Connection, business_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select id, dong, erased_at from businesses where id = $1", business_id)


async def business_dong(conn: asyncpg.Connection, business_id: UUID) -> str | None:
    return await conn.fetchval("select dong from businesses where id = $1", business_id)


async def add_to_dong_counts(conn: asyncpg.Connection, dongs: list[str], counts: list[int]) -> None:
    await conn.execute(
        """insert into dong_business_counts (dong, businesses) select * from unnest($1::text[], $2::int[])
           on conflict (dong) do update set businesses = dong_business_counts.businesses + excluded.businesses""",
        dongs, counts,
    )


# ---------------------------------------------------------------- visits


async def open_visit_locked(conn: asyncpg.Connection, business_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from visits where business_id = $1 and status = 'scheduled' for update", business_id)


async def open_visit_id(conn: asyncpg.Connection, business_id: UUID) -> UUID | None:
    return await conn.fetchval("select id from visits where business_id = $1 and status = 'scheduled'", business_id)


async def visit(conn: asyncpg.Connection, visit_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from visits where id = $1", visit_id)


async def visit_locked(conn: asyncpg.Connection, visit_id: UUID) -> asyncpg.Record | None:
    """The visit (FOR UPDATE) with its business's erased_at."""
    return await conn.fetchrow(
        """select v.*, b.erased_at from visits v join businesses b on b.id = v.business_id
           where v.id = $1 for update of v""",
        visit_id,
    )


async def request_handled(conn: asyncpg.Connection, request_id: UUID) -> bool:
    return bool(await conn.fetchval("select 1 from visits where request_id = $1", request_id))


async def insert_visit(
    conn: asyncpg.Connection, *, business_id: UUID, dong: str, planner_id: str, scheduled_for: date, needs: list[str],
    origin: str, request_id: UUID | None, over_capacity: bool, rescheduled_from: UUID | None,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """insert into visits (id, business_id, dong, planner_id, status, scheduled_for, needs, origin, request_id,
                               over_capacity, rescheduled_from)
           values ($1, $2, $3, $4, 'scheduled', $5, $6, $7, $8, $9, $10) returning *""",
        uuid6.uuid7(), business_id, dong, planner_id, scheduled_for, needs, origin, request_id, over_capacity, rescheduled_from,
    )


async def set_needs(conn: asyncpg.Connection, visit_id: UUID, needs: list[str]) -> asyncpg.Record:
    return await conn.fetchrow("update visits set needs = $2, updated_at = now() where id = $1 returning *", visit_id, needs)


async def record(
    conn: asyncpg.Connection, visit_id: UUID, *, visited_on: date, visited_by: str, outcome: str, stage_observed: str | None,
    needs_identified: list[str], services_given: list[str], notes: str | None, override_reason: str | None, dong: str,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """update visits set status = 'recorded', visited_on = $2, visited_by = $3, outcome = $4, stage_observed = $5,
                  needs_identified = $6, services_given = $7, notes = $8, override_reason = $9, dong = $10,
                  recorded_at = now(), updated_at = now()
           where id = $1 returning *""",
        visit_id, visited_on, visited_by, outcome, stage_observed, needs_identified, services_given, notes, override_reason, dong,
    )


async def add_follow_ups(conn: asyncpg.Connection, visit_id: UUID, follow_ups: list[FollowUp]) -> None:
    await conn.executemany(
        "insert into follow_ups (visit_id, position, action, due_on) values ($1, $2, $3, $4)",
        [(visit_id, i + 1, f.action, f.due_on) for i, f in enumerate(follow_ups)],
    )


async def complete_follow_up(conn: asyncpg.Connection, visit_id: UUID, position: int, done_on: date) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "update follow_ups set done_on = coalesce(done_on, $3) where visit_id = $1 and position = $2 returning *",
        visit_id, position, done_on,
    )


async def cancel(conn: asyncpg.Connection, visit_id: UUID, reason: str) -> None:
    await conn.execute(
        "update visits set status = 'cancelled', cancel_reason = $2, cancelled_at = now(), updated_at = now() where id = $1",
        visit_id, reason,
    )


async def link_rescheduled(conn: asyncpg.Connection, visit_id: UUID, rescheduled_visit_id: UUID | None) -> asyncpg.Record:
    return await conn.fetchrow("update visits set rescheduled_visit_id = $2 where id = $1 returning *", visit_id, rescheduled_visit_id)


async def reassign(conn: asyncpg.Connection, visit_id: UUID, planner_id: str, reason: str | None) -> asyncpg.Record:
    return await conn.fetchrow(
        "update visits set planner_id = $2, reassign_reason = $3, updated_at = now() where id = $1 returning *",
        visit_id, planner_id, reason,
    )


# ---------------------------------------------------------------- erasure


async def forget_free_texts(conn: asyncpg.Connection, business_id: UUID) -> None:
    """Every word a person wrote about the business's visits: notes, reasons, services
    given, what to follow up (the events carry none of them)."""
    await conn.execute(
        """update visits set notes = null, override_reason = null, reassign_reason = null,
                  cancel_reason = case when cancel_reason is null then null else '(삭제됨)' end,
                  services_given = case when services_given is null then null else '{}'::text[] end, updated_at = now()
            where business_id = $1""",
        business_id,
    )
    await conn.execute(
        "update follow_ups set action = '(삭제됨)' where visit_id in (select id from visits where business_id = $1)", business_id
    )


async def cancel_open_visits_of_erased(conn: asyncpg.Connection, business_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        """update visits set status = 'cancelled', cancel_reason = 'business erased', cancelled_at = now()
           where business_id = $1 and status = 'scheduled' returning id""",
        business_id,
    )
    return [r["id"] for r in rows]
