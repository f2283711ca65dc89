"""The read side's checks over visits.adapters.queries: what is not found, what is asked
wrongly, and what only some readers may see (auditors never see a visit's notes)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from sangsaeng_common.errors import NotFound, invalid
from visits.adapters import queries


def _without_notes(visit: dict[str, Any], with_notes: bool) -> dict[str, Any]:
    return visit if with_notes else {**visit, "notes": None}


async def business(conn: asyncpg.Connection, business_id: UUID) -> dict[str, Any]:
    found = await queries.business(conn, business_id)
    if found is None:
        raise NotFound("Business not found", f"visits has no business {business_id} (yet)")
    return found


async def planners(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return await queries.planners(conn)


async def planner(conn: asyncpg.Connection, planner_id: str) -> dict[str, Any]:
    found = await queries.planners(conn, planner_id)
    if not found:
        raise NotFound("Planner not found", f"no planner {planner_id}")
    return found[0]


async def route(conn: asyncpg.Connection, planner_id: str, day: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The planner and its stops that day."""
    found = await planner(conn, planner_id)
    return found, await queries.route(conn, planner_id, day)


async def open_follow_ups(conn: asyncpg.Connection, planner_id: str, *, today: date, due_before: date | None) -> list[dict[str, Any]]:
    await planner(conn, planner_id)
    return [{**r, "overdue": r["due_on"] < today} for r in await queries.open_follow_ups(conn, planner_id, due_before)]


async def visit(conn: asyncpg.Connection, visit_id: UUID, *, with_notes: bool) -> dict[str, Any]:
    found = await queries.visit(conn, visit_id)
    if found is None:
        raise NotFound("Visit not found", f"no visit {visit_id}")
    return _without_notes(found, with_notes)


async def visits(
    conn: asyncpg.Connection, *, business_id: UUID | None, planner_id: str | None, status: str | None, limit: int, with_notes: bool,
    after: tuple[Any, ...] | None = None,
) -> list[dict[str, Any]]:
    rows = await queries.visits(conn, business_id=business_id, planner_id=planner_id, status=status, limit=limit, after=after)
    return [_without_notes(v, with_notes) for v in rows]


async def visit_report(conn: asyncpg.Connection, first: date, last: date) -> dict[str, Any]:
    if last < first:
        raise invalid("to", "is before from")
    return await queries.visit_report(conn, first, last)
