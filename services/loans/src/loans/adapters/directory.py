"""The business directory as loans reads it (`businesses`, written by the shared projection
sangsaeng_common.directory, declared in entrypoints/consumers.py), and loans' own part of
an erasure."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from loans.domain.eligibility import BusinessFacts


async def forget_withdraw_reasons(conn: asyncpg.Connection, business_id: UUID) -> None:
    """Loans' own part of an erasure: the free text it keeps (withdrawal reasons, the officer's decision reasons) is blanked."""
    await conn.execute(
        """update applications set withdraw_reason = case when withdraw_reason is null then null else '(삭제됨)' end,
                  decision_reasons = case when decision_reasons is null then null else array['(삭제됨)'] end, updated_at = now()
            where business_id = $1""",
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


