"""Fund-round budget reservations that hold the round's row lock for one tiny transaction.

Screening runs in the consumer's batch transaction (inbox rows and every screening of a
poll commit together). Reserving inside it would keep the round's row locked until the
whole batch commits, so screening workers reserving from the same round would take turns
batch by batch, and a second worker would add almost nothing. Instead a reservation is a
*claim* committed on its own, on a side connection, in one short transaction:

    insert into budget_claims (application_id, round_id, amount_krw) …
    update fund_rounds set reserved_krw = reserved_krw + $amount
     where id = $round and reserved_krw + $amount <= budget_krw      -- or roll back: refused

The conditional UPDATE is what keeps the budget from ever being over-committed: Postgres
locks the round's row to update it, and a second claimant waiting for that lock re-reads
the committed row and evaluates the WHERE clause again before writing (READ COMMITTED,
EvalPlanQual). So each claim is tested against every claim committed before it; the
table's CHECK (reserved_krw <= budget_krw) is the last line of defence.

A claim row means "counted in fund_rounds.reserved_krw, not yet in the application's
reserved_krw". The screening's batch transaction deletes it as it writes the application's
reserved_krw, so the two move together at the batch's commit. If the batch rolls back
(a worker killed, a transient fault), the claim stays: the event is redelivered, the next
screening of the application finds the claim and uses it instead of reserving again
(exactly once). If the application is withdrawn before that, the withdrawal gives the
claim back; if the redelivered screening refuses it after all, the screening does. If the
screening fails for good after claiming (its LoanSubmitted dead-lettered: nothing will be
redelivered), the compensating sweep gives the claim back once it is old and no screening
holds it (`release_orphaned_claims`, run by every consume replica).

Whenever the side connection cannot get the round's lock quickly (the lock is held by a
transaction that is itself waiting for this one: e.g. a batch that released budget from
the same round earlier) the reservation falls back to the conditional UPDATE inside the
batch transaction, which is equally safe, only slower under concurrency.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg

from sangsaeng_common.db import create_pool
from sangsaeng_common.logging import get_logger

log = get_logger(__name__)

# Longer than any claim transaction waits behind another claim; short enough that a claim
# blocked behind a batch transaction falls back quickly.
CLAIM_LOCK_TIMEOUT = "500ms"


class ClaimPools:
    """The side connections claims commit on: a small pool per schema, on the same database.

    Built and owned by the composition root (`loans.bootstrap`), which opens it for the
    process's lifetime (`opened(dsn)`, a ServiceDefinition resource) and so closes every
    pool it made. The pool follows the schema the screening's own connection works in:
    the live schema, or a replay's scratch schema, which gets a pool of its own (a claim
    committed there must count against the scratch copy of the round, never the live one)."""

    def __init__(self, application_name: str = "loans-budget-claims", min_size: int = 1, max_size: int = 2):
        self.application_name, self.min_size, self.max_size = application_name, min_size, max_size
        self._dsn: str | None = None
        self._pools: dict[str, asyncpg.Pool] = {}
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def opened(self, dsn: str) -> AsyncIterator[ClaimPools]:
        self._dsn = dsn
        try:
            yield self
        finally:
            async with self._lock:
                pools, self._pools, self._dsn = list(self._pools.values()), {}, None
            for pool in pools:
                await pool.close()

    async def for_connection(self, conn: asyncpg.Connection) -> asyncpg.Pool:
        """A pool on the database and schema `conn` works in, for claims that must commit
        apart from `conn`'s transaction."""
        schema = await conn.fetchval("select current_schema()")
        async with self._lock:
            pool = self._pools.get(schema)
            if pool is None:
                if self._dsn is None:
                    raise RuntimeError("the budget claims' pools are not open (the composition root opens them: ServiceDefinition.resources)")
                pool = await create_pool(self._dsn, schema, self.application_name, min_size=self.min_size, max_size=self.max_size)
                self._pools[schema] = pool
            return pool


async def _reserve_in(conn: asyncpg.Connection, round_id: str, amount_krw: int) -> bool:
    return await conn.fetchval(
        """update fund_rounds set reserved_krw = reserved_krw + $2, updated_at = now()
           where id = $1 and reserved_krw + $2 <= budget_krw
           returning true""",
        round_id, amount_krw,
    ) is not None


class _Refused(Exception):
    """Rolls the claim back: the round cannot take the amount."""


class BudgetClaims:
    """Reservations from fund rounds, claimed on the side pools (`ClaimPools`) handed in."""

    def __init__(self, pools: ClaimPools):
        self.pools = pools

    async def _claim(self, conn: asyncpg.Connection, application_id: UUID, round_id: str, amount_krw: int) -> bool | None:
        """Commit a claim on the side; None when the round's lock was not to be had quickly."""
        pool = await self.pools.for_connection(conn)
        try:
            async with pool.acquire() as side, side.transaction():
                await side.execute(f"set local lock_timeout = '{CLAIM_LOCK_TIMEOUT}'")
                await side.execute(
                    "insert into budget_claims (application_id, round_id, amount_krw) values ($1, $2, $3)", application_id, round_id, amount_krw
                )
                if not await _reserve_in(side, round_id, amount_krw):
                    raise _Refused
            return True
        except _Refused:
            return False
        except asyncpg.exceptions.LockNotAvailableError:
            log.info("budget claim waited too long for the round's lock; reserving in the batch", round_id=round_id)
            return None

    async def reserve(self, conn: asyncpg.Connection, application_id: UUID, round_id: str, amount_krw: int) -> bool:
        """Set `amount_krw` aside from the round for the application, or refuse; never over-commits.
        Call inside the screening's transaction (`conn`), holding the application's row lock."""
        left_over = await conn.fetchrow("delete from budget_claims where application_id = $1 returning round_id, amount_krw", application_id)
        if left_over is not None:
            # An earlier screening of this application claimed and then rolled back.
            if (left_over["round_id"], left_over["amount_krw"]) == (round_id, amount_krw):
                return True
            await give_back(conn, left_over["round_id"], left_over["amount_krw"])
            return await _reserve_in(conn, round_id, amount_krw)  # rare: stay in this transaction
        claimed = await self._claim(conn, application_id, round_id, amount_krw)
        if claimed is None:
            return await _reserve_in(conn, round_id, amount_krw)
        if claimed:
            # From this transaction's commit on, the application's reserved_krw carries it.
            await conn.execute("delete from budget_claims where application_id = $1", application_id)
        return claimed


async def give_back(conn: asyncpg.Connection, round_id: str, amount_krw: int) -> None:
    await conn.execute("update fund_rounds set reserved_krw = reserved_krw - $2, updated_at = now() where id = $1", round_id, amount_krw)


async def release_claim(conn: asyncpg.Connection, application_id: UUID) -> int:
    """Give back a claim left by a screening that rolled back (the application is leaving
    screening: withdrawn, or refused on a second look)."""
    left_over = await conn.fetchrow("delete from budget_claims where application_id = $1 returning round_id, amount_krw", application_id)
    if left_over is None:
        return 0
    await give_back(conn, left_over["round_id"], left_over["amount_krw"])
    return left_over["amount_krw"]


async def release_orphaned_claims(conn: asyncpg.Connection, older_than_s: float, limit: int) -> list[asyncpg.Record]:
    """The compensating path for a screening that claimed and then failed for good (its
    LoanSubmitted dead-lettered, so no redelivery will ever use the claim): give back every
    claim older than `older_than_s` that no screening holds now.

    A screening takes its claim's row lock the moment it has claimed (it deletes the row in
    its own transaction), and keeps it to its commit; so a claim that is old and not locked
    belongs to a screening that rolled back. If that screening is redelivered after all (a
    transient fault, a redrive), it finds no claim and reserves afresh: still exactly once.
    Claims a screening holds are skipped (SKIP LOCKED), and one the screening is about to
    take waits for this transaction, then finds it gone."""
    rows = await conn.fetch(
        """delete from budget_claims where application_id in (
               select application_id from budget_claims where claimed_at < now() - make_interval(secs => $1)
               order by claimed_at limit $2 for update skip locked)
           returning application_id, round_id, amount_krw""",
        older_than_s, limit,
    )
    for row in rows:
        await give_back(conn, row["round_id"], row["amount_krw"])
    return rows


async def release_budget(conn: asyncpg.Connection, application: Any, keep_krw: int = 0) -> int:
    """Give back what the application holds beyond `keep_krw` (rejection, withdrawal, or an
    approval below the amount asked). The same single-statement update: no lost update."""
    give_back_krw = application["reserved_krw"] - keep_krw
    if application["round_id"] is None or give_back_krw <= 0:
        return 0
    await give_back(conn, application["round_id"], give_back_krw)
    await conn.execute("update applications set reserved_krw = $2 where id = $1", application["id"], keep_krw)
    return give_back_krw


async def remaining(conn: asyncpg.Connection, round_id: str) -> int:
    return await conn.fetchval("select budget_krw - reserved_krw from fund_rounds where id = $1", round_id)
