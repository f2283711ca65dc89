"""Repayments and a disbursed loan's position (plain SQL on the caller's connection, inside its
transaction); the service layer (service_layer/repayments.py) decides what to write."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg
import uuid6

from loans.domain.repayments import Repayment


async def of_application(conn: asyncpg.Connection, application_id: UUID) -> list[asyncpg.Record]:
    """An application's repayments in the order paid (its position)."""
    return await conn.fetch(
        """select id, position, paid_on, amount_krw, principal_krw, interest_krw, outstanding_principal_krw, recorded_by, recorded_at
           from repayments where application_id = $1 order by position""",
        application_id,
    )


def as_domain(rows: list[asyncpg.Record]) -> list[Repayment]:
    return [Repayment(r["amount_krw"], r["paid_on"]) for r in rows]


async def insert(
    conn: asyncpg.Connection, *, application_id: UUID, business_id: UUID, position: int, paid_on: date, amount_krw: int,
    principal_krw: int, interest_krw: int, outstanding_principal_krw: int, recorded_by: str,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """insert into repayments (id, application_id, business_id, position, paid_on, amount_krw, principal_krw, interest_krw,
                                   outstanding_principal_krw, recorded_by)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning *""",
        uuid6.uuid7(), application_id, business_id, position, paid_on, amount_krw, principal_krw, interest_krw,
        outstanding_principal_krw, recorded_by,
    )


async def set_position(conn: asyncpg.Connection, application_id: UUID, *, outstanding_principal_krw: int, repaid_on: date | None) -> None:
    await conn.execute(
        "update applications set outstanding_principal_krw = $2, repaid_on = $3, updated_at = now() where id = $1",
        application_id, outstanding_principal_krw, repaid_on,
    )


async def set_checked_through(conn: asyncpg.Connection, application_id: UUID, instalment: int) -> None:
    await conn.execute(
        "update applications set arrears_checked_through = greatest(arrears_checked_through, $2), updated_at = now() where id = $1",
        application_id, instalment,
    )


async def lock_due_for_arrears_check(conn: asyncpg.Connection, last_day_before: date, grace_days: int, limit: int) -> list[asyncpg.Record]:
    """Loans still owing whose next unchecked instalment's last day to pay (due date + grace)
    is before `last_day_before`, locked; rows another sweeper holds are skipped (each to one sweeper)."""
    return await conn.fetch(
        """select * from applications
           where outstanding_principal_krw > 0 and status = 'disbursed'
             and arrears_checked_through < jsonb_array_length(schedule->'payments')
             and (schedule->'payments'->arrears_checked_through->>'due_on')::date + $2::int < $1
           order by disbursed_on, id limit $3 for update skip locked""",
        last_day_before, grace_days, limit,
    )
