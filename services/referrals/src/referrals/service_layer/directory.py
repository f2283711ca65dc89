"""Referrals' own part of intake's business events, around the directory's rows (which the
shared projection sangsaeng_common.directory writes; entrypoints/consumers.py declares it)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from referrals.adapters import repository


async def lock_before_erasure(conn: asyncpg.Connection, business_ids: list[UUID]) -> None:
    """Each erased business's lock (the LOCKING note at repository.lock_business) is taken
    before the directory marks it erased, in id order: a referral being made for it at that
    moment either commits first, and is then erased with the others, or waits and finds the
    business erased. Different batches erase different businesses, so they never wait."""
    for business_id in business_ids:
        await repository.lock_business(conn, business_id)
