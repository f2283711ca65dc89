"""Districts' reads of its directory of businesses (the `businesses` table). The table is
written by the shared projection, sangsaeng_common.directory (declared in entrypoints/consumers.py)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def business(conn: asyncpg.Connection, business_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select id, name, dong, stage, registered, erased_at from businesses where id = $1", business_id)
