"""Reads of referrals' tables: the HTTP API's lists and the facts a command checks.

Each function takes a connection explicitly (a pool's, or the command's `tx.conn`)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg


# ---------------------------------------------------------------- the HTTP API's reads


async def referrals(
    conn: asyncpg.Connection, *, business_id: UUID | None, agency: str | None, state: str | None,
    states: list[str] | None, limit: int, after: tuple[datetime, UUID] | None = None,
) -> list[asyncpg.Record]:
    """Referrals, oldest first; each filter applies when given (`states`: any of these);
    `after`: the (created_at, id) of the previous page's last row."""
    created_at, referral_id = after or (None, None)
    return await conn.fetch(
        """select * from referrals
           where ($1::uuid is null or business_id = $1) and ($2::text is null or agency = $2)
             and ($3::text is null or state = $3) and ($4::text[] is null or state = any($4::text[]))
             and ($6::timestamptz is null or (created_at, id) > ($6, $7::uuid))
           order by created_at, id limit $5""",
        business_id, agency, state, states, limit, created_at, referral_id,
    )


async def sent_before(conn: asyncpg.Connection, *, agency: str | None, as_of: date, days: int) -> list[asyncpg.Record]:
    """Sent or acknowledged referrals sent more than `days` before `as_of`."""
    return await conn.fetch(
        """select * from referrals where state in ('sent', 'acknowledged') and ($1::text is null or agency = $1)
             and sent_on < $2::date - $3::int order by sent_on, id""",
        agency, as_of, days,
    )


async def referral(conn: asyncpg.Connection, referral_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from referrals where id = $1", referral_id)


# ---------------------------------------------------------------- what a command checks


async def guarantee_referred(conn: asyncpg.Connection, application_id: UUID) -> bool:
    """A live referral serves this loan application already."""
    return bool(await conn.fetchval("select 1 from referrals where application_id = $1 and state <> 'cancelled'", application_id))


async def referred_on_dates(conn: asyncpg.Connection, business_id: UUID, agency: str, program: str) -> list[date]:
    """The days a business was referred to a program (live, not for a loan application): the 30-day rule's input."""
    rows = await conn.fetch(
        """select referred_on from referrals
           where business_id = $1 and agency = $2 and program = $3 and state <> 'cancelled' and application_id is null""",
        business_id, agency, program,
    )
    return [row["referred_on"] for row in rows]


async def nearest_referral(conn: asyncpg.Connection, business_id: UUID, agency: str, program: str, referred_on: date) -> UUID | None:
    """The live referral of a business to a program whose day is nearest `referred_on`."""
    return await conn.fetchval(
        """select id from referrals where business_id = $1 and agency = $2 and program = $3 and state <> 'cancelled'
           order by abs(referred_on - $4::date) limit 1""",
        business_id, agency, program, referred_on,
    )


async def active_consent(conn: asyncpg.Connection, business_id: UUID, agency: str) -> UUID | None:
    """The newest consent of a business that covers the agency and is not withdrawn."""
    return await conn.fetchval(
        """select consent_id from consents where business_id = $1 and agency = $2 and withdrawn_at is null
           order by given_at desc limit 1""",
        business_id, agency,
    )
