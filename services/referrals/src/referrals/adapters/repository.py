"""Writes to referrals' tables, and the rows a command locks before it changes them.

Each function takes the transaction's connection explicitly (`tx.conn`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from uuid import UUID

import asyncpg

LOCK_REFERRALS = 7_006  # advisory lock class: one business's referrals are decided one at a time


async def lock_business(conn: asyncpg.Connection, business_id: UUID) -> None:
    # LOCKING: the 30-day rule reads a business's earlier referrals and then inserts one.
    # A staff referral and a rule-made one for the same business at the same moment would
    # both find none under READ COMMITTED and both insert. A transaction-scoped advisory
    # lock per business serialises them; different businesses never wait for each other.
    await conn.execute("select pg_advisory_xact_lock($1, hashtext($2))", LOCK_REFERRALS, str(business_id))


# ---------------------------------------------------------------- referrals


async def add_held(
    conn: asyncpg.Connection, *, id: UUID, business_id: UUID, agency: str, program: str, reason: str, origin: str,
    cause_event_id: UUID | None, application_id: UUID | None, amount_krw: int | None, referred_on: date, created_by: str,
) -> asyncpg.Record | None:
    """A new referral, held; None if the same cause already referred to this program."""
    return await conn.fetchrow(
        """insert into referrals (id, business_id, agency, program, reason, origin, cause_event_id, application_id, amount_krw,
                                  referred_on, state, personal_data_shared, consent_id, created_by)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'held', false, null, $11)
           on conflict do nothing returning *""",
        id, business_id, agency, program, reason, origin, cause_event_id, application_id, amount_krw, referred_on, created_by,
    )


async def mark_sent(
    conn: asyncpg.Connection, referral_id: UUID, *, consent_id: UUID | None, sent_on: date, sent_at: datetime, sent_event_id: UUID
) -> asyncpg.Record:
    return await conn.fetchrow(
        """update referrals set state = 'sent', personal_data_shared = $2, consent_id = $3, sent_on = $4, sent_at = $5,
                  sent_event_id = $6, updated_at = now()
           where id = $1 returning *""",
        referral_id, consent_id is not None, consent_id, sent_on, sent_at, sent_event_id,
    )


async def held_for_agencies(conn: asyncpg.Connection, business_id: UUID, agencies: list[str]) -> list[asyncpg.Record]:
    """A business's held referrals to these agencies, locked for release."""
    return await conn.fetch(
        """select * from referrals where business_id = $1 and state = 'held' and agency = any($2::text[])
           order by created_at, id for update""",
        business_id, agencies,
    )


async def referral_for_update(conn: asyncpg.Connection, referral_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from referrals where id = $1 for update", referral_id)


async def mark_acknowledged(conn: asyncpg.Connection, referral_id: UUID, reference: str, acknowledged_at: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        """update referrals set state = 'acknowledged', agency_reference = $2, acknowledged_at = $3, updated_at = now()
           where id = $1 returning *""",
        referral_id, reference, acknowledged_at,
    )


async def mark_completed(
    conn: asyncpg.Connection, referral_id: UUID, *, outcome: str, amount_krw: int | None, note: str | None, completed_on: date
) -> asyncpg.Record:
    return await conn.fetchrow(
        """update referrals set state = 'completed', outcome = $2, outcome_amount_krw = $3, outcome_note = $4, completed_on = $5,
                  updated_at = now()
           where id = $1 returning *""",
        referral_id, outcome, amount_krw, note, completed_on,
    )


# ---------------------------------------------------------------- consents


async def add_consents(conn: asyncpg.Connection, consent_id: UUID, business_id: UUID, agencies: Iterable[str], given_at: datetime) -> None:
    await conn.executemany(
        """insert into consents (consent_id, business_id, agency, given_at) values ($1, $2, $3, $4)
           on conflict (consent_id, agency) do nothing""",
        [(consent_id, business_id, agency, given_at) for agency in agencies],
    )


async def withdraw_consent(conn: asyncpg.Connection, consent_id: UUID, agencies: list[str], withdrawn_at: datetime) -> list[asyncpg.Record]:
    """The consent no longer covers these agencies; referrals that shared personal data
    under it are flagged (agencies see `consent_withdrawn_at`). Returns those newly flagged."""
    await conn.execute(
        """update consents set withdrawn_at = coalesce(withdrawn_at, $3)
           where consent_id = $1 and agency = any($2::text[])""",
        consent_id, agencies, withdrawn_at,
    )
    return await conn.fetch(
        """update referrals set consent_withdrawn_at = $3, updated_at = now()
           where consent_id = $1 and agency = any($2::text[]) and personal_data_shared and consent_withdrawn_at is null
           returning *""",
        consent_id, agencies, withdrawn_at,
    )


async def share_personal_data(conn: asyncpg.Connection, business_id: UUID, agencies: list[str], consent_id: UUID) -> list[asyncpg.Record]:
    """Referrals sent to these agencies without personal data (or whose consent was withdrawn
    since), still open, now covered by `consent_id`: marked shared under it, and returned."""
    return await conn.fetch(
        """update referrals set personal_data_shared = true, consent_id = $3, consent_withdrawn_at = null, updated_at = now()
           where business_id = $1 and agency = any($2::text[]) and state in ('sent', 'acknowledged')
             and (not personal_data_shared or consent_withdrawn_at is not null)
           returning *""",
        business_id, agencies, consent_id,
    )


async def held_by_agencies(conn: asyncpg.Connection, business_id: UUID) -> list[asyncpg.Record]:
    """A business's referrals the agencies have (sent, acknowledged or completed), locked."""
    return await conn.fetch(
        """select * from referrals where business_id = $1 and state in ('sent', 'acknowledged', 'completed')
           order by created_at, id for update""",
        business_id,
    )


# ---------------------------------------------------------------- erasure


async def erase_business_referrals(conn: asyncpg.Connection, business_id: UUID, erased_at: datetime) -> None:
    """Consents are closed; held referrals (never sent) are cancelled; free text the agencies
    or staff wrote is dropped. Referrals already sent keep their non-personal facts."""
    await conn.execute(
        "update consents set withdrawn_at = coalesce(withdrawn_at, $2) where business_id = $1", business_id, erased_at
    )
    await conn.execute(
        """update referrals set state = 'cancelled', cancel_reason = 'business erased', updated_at = now()
           where business_id = $1 and state = 'held'""",
        business_id,
    )
    await conn.execute(
        """update referrals set outcome_note = null, reason = case when origin = 'staff' then 'staff' else reason end,
                  consent_withdrawn_at = case when personal_data_shared then coalesce(consent_withdrawn_at, $2) else null end,
                  updated_at = now()
           where business_id = $1""",
        business_id, erased_at,
    )
