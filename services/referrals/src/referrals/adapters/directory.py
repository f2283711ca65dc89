"""Referrals' directory of businesses (the `businesses` table), fed by intake's
BusinessRegistered / BusinessStageChanged / BusinessErased: every SQL statement on it.

Kept apart on purpose: a directory shared by the services (in libs/common) is to replace
this module and service_layer/directory.py; nothing else in referrals touches the table."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def upsert(conn: asyncpg.Connection, business_id: UUID, *, dong: str, industry: str, stage: str) -> None:
    await conn.execute(
        """insert into businesses (id, dong, industry, stage) values ($1, $2, $3, $4)
           on conflict (id) do update set dong = excluded.dong, industry = excluded.industry, stage = excluded.stage, updated_at = now()""",
        business_id, dong, industry, stage,
    )


async def set_stage(conn: asyncpg.Connection, business_id: UUID, stage: str) -> None:
    await conn.execute("update businesses set stage = $2, updated_at = now() where id = $1", business_id, stage)


async def mark_erased(conn: asyncpg.Connection, business_id: UUID, erased_at: datetime) -> None:
    """Erased (a row is made if the registration never arrived, so nothing is referred later)."""
    await conn.execute(
        """insert into businesses (id, dong, industry, stage, erased_at) values ($1, '', '', 'closed', $2)
           on conflict (id) do update set erased_at = coalesce(businesses.erased_at, excluded.erased_at), updated_at = now()""",
        business_id, erased_at,
    )


async def known(conn: asyncpg.Connection, business_id: UUID) -> tuple[bool, bool]:
    """(known, erased): whether the directory holds the business, and whether it was erased."""
    row = await conn.fetchrow("select erased_at from businesses where id = $1", business_id)
    return row is not None, row is not None and row["erased_at"] is not None


async def is_erased(conn: asyncpg.Connection, business_id: UUID) -> bool:
    return bool(await conn.fetchval("select erased_at is not null from businesses where id = $1", business_id))
