"""Reads of districts' tables: the HTTP API's lists and the facts a command checks.

Each function takes a connection explicitly (a pool's, or the command's `tx.conn`)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def districts(conn: asyncpg.Connection, *, state: str | None, dong: str | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """select * from districts where ($1::text is null or state = $1) and ($2::text is null or $2 = any(dongs))
           order by proposed_on, name limit $3""",
        state, dong, limit,
    )


async def district(conn: asyncpg.Connection, district_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from districts where id = $1", district_id)


async def representative(conn: asyncpg.Connection, district_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select name, phone from representatives where district_id = $1", district_id)


async def members(conn: asyncpg.Connection, district_id: UUID, *, current_only: bool = True) -> list[asyncpg.Record]:
    """A district's member stores with their business's name and stage from the directory."""
    return await conn.fetch(
        """select m.*, b.name as business_name, b.stage as stage from members m left join businesses b on b.id = m.business_id
           where m.district_id = $1 and ($2::bool = false or m.left_on is null) order by m.joined_on, m.business_id""",
        district_id, current_only,
    )


async def member(conn: asyncpg.Connection, district_id: UUID, business_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from members where district_id = $1 and business_id = $2", district_id, business_id)


async def contests(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch("select * from contests order by deadline, id limit $1", limit)


async def contest(conn: asyncpg.Connection, contest_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from contests where id = $1", contest_id)


async def entries(conn: asyncpg.Connection, *, contest_id: UUID | None, district_id: UUID | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        """select e.*, c.organiser, c.title from entries e join contests c on c.id = e.contest_id
           where ($1::uuid is null or e.contest_id = $1) and ($2::uuid is null or e.district_id = $2)
           order by e.entered_on, e.id""",
        contest_id, district_id,
    )


async def awarded_so_far(conn: asyncpg.Connection, contest_id: UUID, except_entry: UUID) -> int:
    return int(await conn.fetchval(
        "select coalesce(sum(awarded_krw), 0) from entries where contest_id = $1 and id <> $2", contest_id, except_entry
    ))
