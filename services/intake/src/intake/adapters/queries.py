"""The read side's SQL: searches, lists and single rows straight from intake's tables (no
unit of work; `db` is the pool or any connection). Keyset pages, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from intake.domain.search import BusinessSearch, name_pattern
from intake.domain.pagination import InvalidCursor, decode_cursor, encode_cursor


def _parse(parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except ValueError as exc:
        raise InvalidCursor("not a cursor this API returned") from exc


class _Where:
    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def add(self, clause: str, *values: Any) -> None:
        """`clause` with one `?` per value, in order."""
        for value in values:
            self.args.append(value)
            clause = clause.replace("?", f"${len(self.args)}", 1)
        self.clauses.append(clause)

    def sql(self) -> str:
        return " and ".join(self.clauses) or "true"


Db = asyncpg.Pool | asyncpg.Connection
Page = tuple[list[asyncpg.Record], str | None]


async def business(db: Db, business_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow("select * from businesses where id = $1", business_id)


async def business_exists(db: Db, business_id: UUID) -> bool:
    return bool(await db.fetchval("select true from businesses where id = $1", business_id))


async def owners(db: Db, business_id: UUID) -> list[asyncpg.Record]:
    return await db.fetch("select * from owners where business_id = $1 order by id", business_id)


async def consents(db: Db, business_id: UUID) -> list[asyncpg.Record]:
    """Newest first."""
    return await db.fetch("select * from consents where business_id = $1 order by given_at desc, id desc", business_id)


async def support_request(db: Db, request_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow("select * from support_requests where id = $1", request_id)


async def support_steps(db: Db, request_id: UUID) -> list[asyncpg.Record]:
    """The request's steps, oldest first."""
    return await db.fetch("select * from support_request_steps where request_id = $1 order by taken_at, event_id", request_id)


async def _newest_first(db: Db, table: str, where: _Where, *, limit: int, cursor: str | None) -> Page:
    """A page of `table`'s rows by id, newest first (ids are UUIDv7); raises InvalidCursor."""
    if cursor is not None:
        where.add("id < ?", _parse(UUID, decode_cursor(cursor, 1)[0]))
    rows = await db.fetch(f"select * from {table} where {where.sql()} order by id desc limit {limit + 1}", *where.args)
    page, more = rows[:limit], len(rows) > limit
    return page, encode_cursor(str(page[-1]["id"])) if more else None


async def search_businesses(db: Db, search: BusinessSearch) -> Page:
    """Newest first; raises InvalidCursor."""
    where = _Where()
    if search.dong is not None:
        where.add("dong = ?", search.dong)
    if search.stage is not None:
        where.add("stage = ?", search.stage.value)
    if search.industry is not None:
        where.add("industry = ?", search.industry)
    if search.registration_number is not None:
        where.add("registration_number = ?", search.registration_number)
    if search.q is not None and (pattern := name_pattern(search.q)) is not None:
        where.add("name_key like ? escape '\\'", pattern)
    return await _newest_first(db, "businesses", where, limit=search.limit, cursor=search.cursor)


async def timeline(db: Db, business_id: UUID, *, limit: int, cursor: str | None) -> Page:
    """Newest first; raises InvalidCursor."""
    where = _Where()
    where.add("business_id = ?", business_id)
    if cursor is not None:
        occurred_at, event_id = decode_cursor(cursor, 2)
        where.add("(occurred_at, event_id) < (?, ?)", _parse(datetime.fromisoformat, occurred_at), _parse(UUID, event_id))
    rows = await db.fetch(
        f"""select event_id, event_type, source, occurred_at, summary, data from timeline
            where {where.sql()} order by occurred_at desc, event_id desc limit {limit + 1}""",
        *where.args,
    )
    page, more = rows[:limit], len(rows) > limit
    return page, encode_cursor(page[-1]["occurred_at"].isoformat(), str(page[-1]["event_id"])) if more else None


async def support_requests(
    db: Db, *, business_id: UUID | None, assignee: str | None = None, status: str | None = None, need: str | None = None,
    limit: int, cursor: str | None,
) -> Page:
    """Newest first; the filters combine (AND); raises InvalidCursor."""
    where = _Where()
    if business_id is not None:
        where.add("business_id = ?", business_id)
    if assignee is not None:
        where.add("assignee = ?", assignee)
    if status is not None:
        where.add("status = ?", status)
    if need is not None:
        where.add("needs @> array[?::text]", need)
    return await _newest_first(db, "support_requests", where, limit=limit, cursor=cursor)
