"""Referrals' directory of businesses (the `businesses` table) as the rules read it. The
shared projection sangsaeng_common.directory writes it from intake's BusinessRegistered /
BusinessStageChanged / BusinessErased (declared in entrypoints/consumers.py)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def known(conn: asyncpg.Connection, business_id: UUID) -> tuple[bool, bool]:
    """(known, erased): whether the directory holds the business, and whether it was erased."""
    row = await conn.fetchrow("select erased_at from businesses where id = $1", business_id)
    return row is not None, row is not None and row["erased_at"] is not None


async def is_erased(conn: asyncpg.Connection, business_id: UUID) -> bool:
    return bool(await conn.fetchval("select erased_at is not null from businesses where id = $1", business_id))
