"""The business directory: what intake's business events leave in loans (`businesses`),
and what screening reads of it. Kept apart on purpose: a shared directory in libs/common
will take this over (the columns loans keeps, its erasure policy)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from sangsaeng_common.contracts.intake import BusinessRegistered
from loans.domain.eligibility import BusinessFacts


async def upsert(conn: asyncpg.Connection, event: BusinessRegistered) -> None:
    await conn.execute(
        """insert into businesses (id, dong, industry, employees, is_micro_business, stage, registered_on)
           values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (id) do update set dong = excluded.dong, industry = excluded.industry, employees = excluded.employees,
               is_micro_business = excluded.is_micro_business, stage = excluded.stage, registered_on = excluded.registered_on,
               updated_at = now()""",
        event.business_id, event.dong, event.industry, event.employees, event.is_micro_business, event.stage.value, event.registered_on,
    )


async def set_stage(conn: asyncpg.Connection, business_id: UUID, stage: str) -> None:
    await conn.execute("update businesses set stage = $2, updated_at = now() where id = $1", business_id, stage)


async def erase(conn: asyncpg.Connection, business_id: UUID, erased_at: datetime) -> None:
    """Loans' erasure policy: it holds no names or numbers; it blanks the free text it keeps
    (withdrawal reasons) and marks the business erased."""
    await conn.execute("update businesses set erased_at = $2, updated_at = now() where id = $1", business_id, erased_at)
    await conn.execute(
        "update applications set withdraw_reason = case when withdraw_reason is null then null else '(삭제됨)' end, updated_at = now() where business_id = $1",
        business_id,
    )


async def erased(conn: asyncpg.Connection, business_id: UUID) -> bool | None:
    """Whether the business was erased; None when loans knows no such business."""
    row = await conn.fetchrow("select id, erased_at from businesses where id = $1", business_id)
    return None if row is None else row["erased_at"] is not None


async def facts(conn: asyncpg.Connection, business_id: UUID) -> BusinessFacts | None:
    row = await conn.fetchrow("select * from businesses where id = $1", business_id)
    if row is None:
        return None
    return BusinessFacts(row["dong"], row["industry"], row["is_micro_business"], row["stage"], row["registered_on"], row["erased_at"] is not None)


