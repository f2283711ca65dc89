"""Read side: the directory's view of a business, the planners' views and the visit report
(plain SQL over visits' own tables). Rows come back as plain dicts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from visits.domain.planning import DONGS


async def business(conn: asyncpg.Connection, business_id: UUID) -> dict[str, Any] | None:
    """A business as the directory holds it, with its stage history."""
    row = await conn.fetchrow("select * from businesses where id = $1", business_id)
    if row is None:
        return None
    history = await conn.fetch(
        "select position, from_stage, to_stage, changed_on from business_stage_history where business_id = $1 order by position",
        business_id,
    )
    return {**dict(row), "stage_history": [dict(h) for h in history]}


async def visit(conn: asyncpg.Connection, visit_id: UUID) -> dict[str, Any] | None:
    """A visit with its follow-ups (`follow_ups`)."""
    row = await conn.fetchrow("select * from visits where id = $1", visit_id)
    if row is None:
        return None
    follow_ups = await conn.fetch(
        "select position, action, due_on, done_on from follow_ups where visit_id = $1 order by position", visit_id
    )
    return {**dict(row), "follow_ups": [dict(f) for f in follow_ups]}


async def visits(
    conn: asyncpg.Connection, *, business_id: UUID | None, planner_id: str | None, status: str | None, limit: int,
    after: tuple[date, datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """Newest first by (visit day, created_at, id); `after`: the sort key of the previous page's last row."""
    day, created_at, visit_id = after or (None, None, None)
    rows = await conn.fetch(
        """select * from visits
           where ($1::uuid is null or business_id = $1) and ($2::text is null or planner_id = $2 or visited_by = $2)
             and ($3::text is null or status = $3)
             and ($5::date is null or (coalesce(visited_on, scheduled_for), created_at, id) < ($5, $6::timestamptz, $7::uuid))
           order by coalesce(visited_on, scheduled_for) desc, created_at desc, id desc limit $4""",
        business_id, planner_id, status, limit, day, created_at, visit_id,
    )
    follow_ups = await conn.fetch(
        "select visit_id, position, action, due_on, done_on from follow_ups where visit_id = any($1::uuid[]) order by position",
        [r["id"] for r in rows],
    )
    by_visit: dict[UUID, list[dict[str, Any]]] = {}
    for f in follow_ups:
        by_visit.setdefault(f["visit_id"], []).append({k: f[k] for k in ("position", "action", "due_on", "done_on")})
    return [{**dict(r), "follow_ups": by_visit.get(r["id"], [])} for r in rows]


async def planners(conn: asyncpg.Connection, planner_id: str | None = None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """select p.id, p.name, p.daily_capacity, p.active,
                  coalesce(array_agg(t.dong order by array_position($2::text[], t.dong)) filter (where t.dong is not null), '{}') as territory
           from planners p left join planner_territories t on t.planner_id = p.id
           where $1::text is null or p.id = $1
           group by p.id order by p.id""",
        planner_id, list(DONGS),
    )
    return [dict(r) for r in rows]


async def route(conn: asyncpg.Connection, planner_id: str, day: date) -> list[dict[str, Any]]:
    """The planner's visits that day (scheduled or recorded), grouped by dong in the district's order."""
    rows = await conn.fetch(
        """select v.id as visit_id, v.business_id, b.name as business_name, v.dong, b.industry, b.stage, v.status,
                  v.needs, v.outcome
           from visits v join businesses b on b.id = v.business_id
           where v.planner_id = $1 and v.scheduled_for = $2 and v.status <> 'cancelled'
           order by array_position($3::text[], v.dong) nulls last, v.dong, b.name, v.id""",
        planner_id, day, list(DONGS),
    )
    return [dict(r) for r in rows]


async def open_follow_ups(conn: asyncpg.Connection, planner_id: str, due_before: date | None) -> list[dict[str, Any]]:
    """Follow-ups not done yet of the visits this planner recorded, soonest first."""
    rows = await conn.fetch(
        """select f.visit_id, f.position, f.action, f.due_on, v.business_id, b.name as business_name, v.dong, v.visited_on
           from follow_ups f join visits v on v.id = f.visit_id join businesses b on b.id = v.business_id
           where v.visited_by = $1 and f.done_on is null and b.erased_at is null and ($2::date is null or f.due_on < $2)
           order by f.due_on, v.visited_on, f.visit_id, f.position""",
        planner_id, due_before,
    )
    return [dict(r) for r in rows]


async def visit_report(conn: asyncpg.Connection, first: date, last: date) -> dict[str, Any]:
    """Recorded visits with visited_on in [first, last]: per dong, per ISO week, distinct shops."""
    totals = await conn.fetchrow(
        """select count(*) as visits, count(distinct business_id) as distinct_shops
           from visits where status = 'recorded' and visited_on between $1 and $2""",
        first, last,
    )
    by_dong = await conn.fetch(
        """select dong, count(*) as visits, count(distinct business_id) as distinct_shops
           from visits where status = 'recorded' and visited_on between $1 and $2
           group by dong order by array_position($3::text[], dong) nulls last, dong""",
        first, last, list(DONGS),
    )
    by_week = await conn.fetch(
        """select to_char(visited_on, 'IYYY-"W"IW') as week, date_trunc('week', visited_on)::date as week_start,
                  count(*) as visits, count(distinct business_id) as distinct_shops
           from visits where status = 'recorded' and visited_on between $1 and $2
           group by 1, 2 order by 2""",
        first, last,
    )
    by_outcome = await conn.fetch(
        """select outcome, count(*) as visits from visits where status = 'recorded' and visited_on between $1 and $2
           group by outcome order by outcome""",
        first, last,
    )
    return {
        "from": first,
        "to": last,
        "visits": totals["visits"],
        "distinct_shops": totals["distinct_shops"],
        "by_dong": [dict(r) for r in by_dong],
        "by_week": [dict(r) for r in by_week],
        "by_outcome": {r["outcome"]: r["visits"] for r in by_outcome},
    }
