"""Applying a batch of events with its inbox rows, in ONE transaction: a redelivered event
has no second effect, and a handler failing for good spoils only its own event.

1. the batch's `(consumer, event_id)` inbox rows go in in one statement; the handler of
   each event that was not there yet runs, in order (batch handlers take runs of events
   at once);
2. if a handler fails for good, that transaction is rolled back and the batch redone
   event by event, each in a savepoint: the failing event is reported (for the dead
   letters), its inbox row removed, and the others take effect;
3. a transient fault (database unreachable, deadlock) raises, nothing committed: the
   caller applies the same batch again (`apply_batch_retrying`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from sangsaeng_common import metrics, tracing
from sangsaeng_common.contracts import consumer_group
from sangsaeng_common.db import is_transient
from sangsaeng_common.decoding import Dead, Decoded
from sangsaeng_common.handlers import EventContext
from sangsaeng_common.logging import bound_contextvars, get_logger
from sangsaeng_common.retry import Backoff

log = get_logger(__name__)


async def apply_batch(pool: asyncpg.Pool, consumer_name: str, batch: list[Decoded]) -> list[Dead]:
    """Apply a batch in ONE transaction with its inbox rows; return what failed for good.

    The happy path runs every handler straight in the one transaction (no savepoint per
    event: they cost two round trips each). Only if a handler fails for good is that
    transaction rolled back and the batch redone event by event, each in its savepoint, so
    the poison event is dead-lettered alone and the others still take effect.

    Raises on a transient fault (nothing committed): the caller retries the whole batch.
    """
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                outcome = await _apply_in(conn, consumer_name, batch, isolate=False)
        except _HandlerFailed:
            async with conn.transaction():
                outcome = await _apply_in(conn, consumer_name, batch, isolate=True)
    outcome.count(consumer_name)  # once committed
    return outcome.failed


async def apply_batch_retrying(
    pool: asyncpg.Pool, consumer_name: str, batch: list[Decoded], backoff: Backoff, give_up: Callable[[], bool]
) -> list[Dead]:
    """`apply_batch`, again after each transient fault (a failed attempt commits nothing),
    until it succeeds or `give_up()` says to stop: then the fault is raised."""
    while True:
        try:
            return await apply_batch(pool, consumer_name, batch)
        except Exception as exc:
            if not is_transient(exc) or give_up():
                raise
            delay = backoff.next()
            log.warning("transient fault applying batch, retrying", error=repr(exc), retry_in_s=round(delay, 2), size=len(batch))
            await asyncio.sleep(delay)


class _HandlerFailed(Exception):
    """A handler failed for good on the fast path: redo the batch event by event."""


@dataclass
class _Outcome:
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, result) -> events
    failed: list[Dead] = field(default_factory=list)

    def count(self, consumer_name: str) -> None:
        for (event_type, result), n in self.counts.items():
            metrics.EVENTS_CONSUMED.labels(consumer_name, event_type, result).inc(n)


async def _apply_in(conn: asyncpg.Connection, consumer_name: str, batch: list[Decoded], *, isolate: bool) -> _Outcome:
    """The batch's inbox rows in one statement, then the handlers of the events not seen
    before, in order; consecutive events of one batch handler go to it together (alone,
    each in its savepoint, when `isolate`)."""
    outcome = _Outcome()
    rows = await conn.fetch(
        """insert into inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)
           select $1, * from unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::bigint[])
           on conflict do nothing
           returning event_id""",
        consumer_name,
        [d.envelope.id for d in batch],
        [d.envelope.type for d in batch],
        [d.record.topic for d in batch],
        [d.record.partition for d in batch],
        [d.record.offset for d in batch],
    )
    fresh = {r["event_id"] for r in rows}
    todo: list[Decoded] = []
    for item in batch:
        if item.envelope.id not in fresh:  # seen before, or twice in this batch
            outcome.counts[item.envelope.type, "duplicate"] += 1
            continue
        fresh.discard(item.envelope.id)
        todo.append(item)
    for group in _groups(todo, isolate):
        first = group[0]
        with bound_contextvars(
            correlation_id=first.envelope.correlation_id,
            causation_id=first.envelope.causation_id,
            event_id=str(first.envelope.id),
            event_type=first.envelope.type,
            events=len(group),
        ), tracing.processing_run(consumer_group(consumer_name), [(item.record, item.envelope) for item in group]):
            try:
                if isolate:
                    async with conn.transaction():  # savepoint: one bad event spoils only itself
                        await _run(conn, group)
                else:
                    await _run(conn, group)
            except Exception as exc:
                if is_transient(exc):
                    raise
                if not isolate:
                    raise _HandlerFailed() from exc
                log.error("handler failed; dead-lettering the event", error=repr(exc))
                tracing.failed(exc)
                await conn.execute("delete from inbox where consumer = $1 and event_id = $2", consumer_name, first.envelope.id)
                outcome.failed.append((first.record, "handler_error", repr(exc)))
                continue
        for item in group:
            outcome.counts[item.envelope.type, "applied"] += 1
    return outcome


def _groups(items: list[Decoded], isolate: bool) -> list[list[Decoded]]:
    """Runs of consecutive events for one batch handler; every other event alone."""
    groups: list[list[Decoded]] = []
    for item in items:
        if not isolate and item.batched and groups and groups[-1][0].handler is item.handler:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


async def _run(conn: asyncpg.Connection, group: list[Decoded]) -> None:
    first = group[0]
    if first.batched:
        await first.handler(conn, [(EventContext(conn, d.envelope, d.record), d.event) for d in group])
    else:
        await first.handler(EventContext(conn, first.envelope, first.record), first.event)
