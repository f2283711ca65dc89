"""Districts' directory of businesses (the `businesses` table), fed by intake's
BusinessRegistered / BusinessStageChanged / BusinessErased: every SQL statement on it.

Kept apart on purpose, as in referrals: when the shared directory (sangsaeng_common.directory)
lands on main it replaces this module and service_layer/directory.py."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def upsert(conn: asyncpg.Connection, business_id: UUID, *, name: str, dong: str, stage: str) -> None:
    await conn.execute(
        """insert into businesses (id, name, dong, stage) values ($1, $2, $3, $4)
           on conflict (id) do update set name = excluded.name, dong = excluded.dong, stage = excluded.stage, updated_at = now()""",
        business_id, name, dong, stage,
    )


async def set_stage(conn: asyncpg.Connection, business_id: UUID, stage: str) -> None:
    await conn.execute("update businesses set stage = $2, updated_at = now() where id = $1", business_id, stage)


async def mark_erased(conn: asyncpg.Connection, business_id: UUID, erased_at: datetime) -> None:
    await conn.execute(
        """insert into businesses (id, name, dong, stage, erased_at) values ($1, '', '', 'closed', $2)
           on conflict (id) do update set erased_at = coalesce(businesses.erased_at, excluded.erased_at), updated_at = now()""",
        business_id, erased_at,
    )


async def business(conn: asyncpg.Connection, business_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select id, name, dong, stage, erased_at from businesses where id = $1", business_id)
