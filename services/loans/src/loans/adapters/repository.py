"""Write side: applications, screenings and fund rounds. Each function is one statement (or
the locking read that comes before writing) on the caller's connection, inside its
transaction; the service layer decides what to write."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import uuid6

# ---------------------------------------------------------------- applications


async def lock_application(conn: asyncpg.Connection, application_id: UUID) -> asyncpg.Record | None:
    """The application, its row locked until the transaction ends."""
    return await conn.fetchrow("select * from applications where id = $1 for update", application_id)


async def create_draft(
    conn: asyncpg.Connection, business_id: UUID, *, visit_id: UUID | None = None, support_request_id: UUID | None = None,
    program: str | None = None, drafted_by: str | None,
) -> UUID | None:
    """A draft from a visit or a support request (one of the two); None when that cause made one already."""
    origin = "visit" if visit_id is not None else "support_request"
    return await conn.fetchval(
        """insert into applications (id, business_id, status, origin, visit_id, support_request_id, program, drafted_by)
           values ($1, $2, 'draft', $3, $4, $5, $6, $7) on conflict do nothing returning id""",
        uuid6.uuid7(), business_id, origin, visit_id, support_request_id, program, drafted_by,
    )


async def lock_screened_open(conn: asyncpg.Connection, business_id: UUID, statuses: list[str]) -> list[asyncpg.Record]:
    """The business's applications in these statuses, locked, in id order (as every lock here)."""
    return await conn.fetch(
        "select * from applications where business_id = $1 and status = any($2::text[]) order by id for update", business_id, statuses
    )


async def insert_rescreening(
    conn: asyncpg.Connection, *, application_id: UUID, cause_event_id: UUID, business_id: UUID, eligible: bool,
    failed_rules: list[dict[str, Any]], status_before: str, status_after: str, screened_on: date,
) -> bool:
    """False when this change screened this application already (a redelivery in a replay)."""
    return bool(await conn.fetchval(
        """insert into rescreenings (application_id, cause_event_id, business_id, eligible, failed_rules, status_before, status_after,
                                     screened_on)
           values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing returning true""",
        application_id, cause_event_id, business_id, eligible, failed_rules, status_before, status_after, screened_on,
    ))


async def reject_on_rescreening(
    conn: asyncpg.Connection, application_id: UUID, *, status: str, screened_on: date, failed_rules: list[dict[str, Any]]
) -> None:
    await conn.execute(
        """update applications set status = $2, screened_on = $3, eligible = false, failed_rules = $4, updated_at = now()
           where id = $1""",
        application_id, status, screened_on, failed_rules,
    )


async def insert_submitted(
    conn: asyncpg.Connection, *, business_id: UUID, program: str, amount_krw: int, purpose: str, term_months: int | None,
    documents: list[str], submitted_on: date, submitted_by: str,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """insert into applications (id, business_id, status, origin, program, amount_krw, purpose, term_months, documents,
                                     submitted_on, submitted_by)
           values ($1, $2, 'submitted', 'staff', $3, $4, $5, $6, $7, $8, $9) returning *""",
        uuid6.uuid7(), business_id, program, amount_krw, purpose, term_months, documents, submitted_on, submitted_by,
    )


async def submit_draft(
    conn: asyncpg.Connection, application_id: UUID, *, program: str, amount_krw: int, purpose: str, term_months: int | None,
    documents: list[str], submitted_on: date, submitted_by: str,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """update applications set status = 'submitted', program = $2, amount_krw = $3, purpose = $4, term_months = $5,
                  documents = $6, submitted_on = $7, submitted_by = $8, updated_at = now()
           where id = $1 returning *""",
        application_id, program, amount_krw, purpose, term_months, documents, submitted_on, submitted_by,
    )


async def insert_screening(
    conn: asyncpg.Connection, *, application_id: UUID, business_id: UUID, eligible: bool, failed_rules: list[dict[str, Any]],
    round_id: str | None, reserved_krw: int, event_id: UUID, kafka_partition: int, kafka_offset: int, worker: str,
) -> None:
    await conn.execute(
        """insert into screenings (application_id, business_id, eligible, failed_rules, round_id, reserved_krw, event_id,
                                   kafka_partition, kafka_offset, worker)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        application_id, business_id, eligible, failed_rules, round_id, reserved_krw, event_id, kafka_partition, kafka_offset, worker,
    )


async def record_screening(
    conn: asyncpg.Connection, application_id: UUID, *, status: str, screened_on: date, eligible: bool,
    failed_rules: list[dict[str, Any]], round_id: str | None, reserved_krw: int, guarantee_requested_at: datetime | None,
    guarantee_requested_on: date | None = None,
) -> None:
    await conn.execute(
        """update applications set status = $2, screened_on = $3::date, eligible = $4, failed_rules = $5, round_id = $6,
                  reserved_krw = $7, guarantee_requested_at = $8::timestamptz,
                  guarantee_requested_on = case when $8::timestamptz is null then null else coalesce($9::date, $3::date) end,
                  updated_at = now()
           where id = $1""",
        application_id, status, screened_on, eligible, failed_rules, round_id, reserved_krw, guarantee_requested_at,
        guarantee_requested_on,
    )


async def keep_guarantee_referral(conn: asyncpg.Connection, application_id: UUID, referral_id: UUID) -> None:
    await conn.execute(
        "update applications set guarantee_referral_id = coalesce(guarantee_referral_id, $2), updated_at = now() where id = $1",
        application_id, referral_id,
    )


async def record_guarantee(
    conn: asyncpg.Connection, application_id: UUID, *, status: str, outcome: str, amount_krw: int | None, referral_id: UUID
) -> None:
    await conn.execute(
        """update applications set status = $2, guarantee_outcome = $3, guarantee_amount_krw = $4, guarantee_referral_id = $5,
                  updated_at = now() where id = $1""",
        application_id, status, outcome, amount_krw, referral_id,
    )


async def lock_overdue_guarantees(conn: asyncpg.Connection, cutoff: datetime, limit: int) -> list[asyncpg.Record]:
    """Applications waiting for their guarantee since before `cutoff`, locked; rows another
    sweeper holds are skipped (FOR UPDATE SKIP LOCKED: each row goes to one sweeper)."""
    return await conn.fetch(
        """select * from applications where status = 'awaiting_guarantee' and guarantee_requested_at < $1
           order by guarantee_requested_at limit $2 for update skip locked""",
        cutoff, limit,
    )


async def time_out_guarantee(conn: asyncpg.Connection, application_id: UUID, status: str, on: date) -> None:
    await conn.execute(
        "update applications set status = $2, guarantee_timed_out_on = $3, updated_at = now() where id = $1", application_id, status, on
    )


async def reject(conn: asyncpg.Connection, application_id: UUID, *, status: str, decided_on: date, decided_by: str, reasons: list[str]) -> asyncpg.Record:
    return await conn.fetchrow(
        """update applications set status = $2, decided_on = $3, decided_by = $4, decision_reasons = $5, updated_at = now()
           where id = $1 returning *""",
        application_id, status, decided_on, decided_by, reasons,
    )


async def approve(
    conn: asyncpg.Connection, application_id: UUID, *, status: str, decided_on: date, decided_by: str, amount_krw: int, reasons: list[str] | None
) -> asyncpg.Record:
    return await conn.fetchrow(
        """update applications set status = $2, decided_on = $3, decided_by = $4, approved_amount_krw = $5,
                  decision_reasons = $6, updated_at = now()
           where id = $1 returning *""",
        application_id, status, decided_on, decided_by, amount_krw, reasons,
    )


async def disburse(
    conn: asyncpg.Connection, application_id: UUID, *, status: str, disbursed_on: date, annual_rate_pct: Decimal, schedule: Any,
    disbursed_by: str,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """update applications set status = $2, disbursed_on = $3, annual_rate_pct = $4, schedule = $5, disbursed_by = $6,
                  outstanding_principal_krw = approved_amount_krw, updated_at = now()
           where id = $1 returning *""",
        application_id, status, disbursed_on, annual_rate_pct, schedule, disbursed_by,
    )


async def withdraw(conn: asyncpg.Connection, application_id: UUID, *, status: str, withdrawn_on: date, reason: str) -> asyncpg.Record:
    return await conn.fetchrow(
        "update applications set status = $2, withdrawn_on = $3, withdraw_reason = $4, updated_at = now() where id = $1 returning *",
        application_id, status, withdrawn_on, reason,
    )


# ---------------------------------------------------------------- fund rounds


async def lock_round(conn: asyncpg.Connection, round_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from fund_rounds where id = $1 for update", round_id)


async def put_round(
    conn: asyncpg.Connection, round_id: str, *, program: str, name: str, opens_on: date, closes_on: date | None, budget_krw: int
) -> asyncpg.Record:
    return await conn.fetchrow(
        """insert into fund_rounds (id, program, name, opens_on, closes_on, budget_krw) values ($1, $2, $3, $4, $5, $6)
           on conflict (id) do update set name = excluded.name, opens_on = excluded.opens_on, closes_on = excluded.closes_on,
               budget_krw = excluded.budget_krw, updated_at = now()
           returning *""",
        round_id, program, name, opens_on, closes_on, budget_krw,
    )
