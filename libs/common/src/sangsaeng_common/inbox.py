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

Per-key order under a dead letter (see dead_letters.py): an event whose handler failed for
good parks its key for this consumer. While that dead letter is open, the key's later
events are not applied but parked (a `dead_letters` row with status `parked`, no inbox
row), in the same transaction, until an operator redrives the dead letter (it is applied,
then the parked events after it, in order) or discards it (then the parked events are
applied). So a redrive never applies an old event over a newer state. Poison (an
undecodable or forged record) parks nothing: nothing vouches for its key.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from sangsaeng_common import dead_letters, failpoints, metrics, tracing
from sangsaeng_common.contracts import consumer_group
from sangsaeng_common.db import is_transient
from sangsaeng_common.decoding import Dead, Decoded
from sangsaeng_common.handlers import EventContext
from sangsaeng_common.logging import bound_contextvars, get_logger
from sangsaeng_common.retry import Backoff

log = get_logger(__name__)


async def apply_batch(pool: asyncpg.Pool, consumer_name: str, batch: list[Decoded], poison: list[Dead] = (), *,
                      replay: bool = False) -> list[Dead]:
    """Apply a batch in ONE transaction with its inbox rows; return what failed for good.

    The `dead_letters` rows go in the same transaction: the poison (decoded before, not
    applied), each event that failed for good and each parked one; what is returned (the
    poison and what failed) is then published to the DLQ topic by the caller.

    The happy path runs every handler straight in the one transaction (no savepoint per
    event: they cost two round trips each). Only if a handler fails for good is that
    transaction rolled back and the batch redone event by event, each in its savepoint, so
    the poison event is dead-lettered alone and the others still take effect.

    Raises on a transient fault (nothing committed): the caller retries the whole batch.

    `replay`: a rebuild from the whole log into a scratch schema parks nothing and records
    no dead letters. Events arrive there topic by topic, not in the order they were lived
    (a business's LoanSubmitted may come before its BusinessRegistered), handlers that act
    rather than project fail for want of what commands wrote (screening, an application
    loans does not have there), and no operator redrives a replay: holding back a failed
    event's key would drop that key's later events from the rebuilt read models.
    """
    live = not replay
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                outcome = await _attempt(conn, consumer_name, batch, poison, isolate=False, live=live, parks=live)
        except _HandlerFailed:
            async with conn.transaction():
                outcome = await _attempt(conn, consumer_name, batch, poison, isolate=True, live=live, parks=live)
    outcome.count(consumer_name)  # once committed
    return [*poison, *((d.record, reason, detail) for d, reason, detail in outcome.failed)]


async def apply_in_transaction(conn: asyncpg.Connection, consumer_name: str, batch: list[Decoded], *, live: bool = True) -> Outcome:
    """`apply_batch`'s work inside the caller's transaction (a redrive's): the fast path in
    a savepoint, redone event by event if a handler fails for good. `live=False`: the
    caller has locked the key's open dead letters and hands over the events in order, so
    none is parked behind what is open, and it writes their `dead_letters` rows itself
    (see dead_letters.redrive)."""
    try:
        async with conn.transaction():
            return await _attempt(conn, consumer_name, batch, (), isolate=False, live=live)
    except _HandlerFailed:
        async with conn.transaction():
            return await _attempt(conn, consumer_name, batch, (), isolate=True, live=live)


async def _attempt(conn: asyncpg.Connection, consumer_name: str, batch: list[Decoded], poison: list[Dead], *,
                   isolate: bool, live: bool, parks: bool = True) -> Outcome:
    if poison and live:
        await dead_letters.record_poison(conn, consumer_name, poison)
    blocking = await dead_letters.open_for_keys(conn, consumer_name, batch) if live and batch else dead_letters.Blocking(parks=parks)
    outcome = await _apply_in(conn, consumer_name, batch, isolate=isolate, blocking=blocking)
    if live and (outcome.failed or outcome.parked):  # a redrive updates the rows it holds itself
        await dead_letters.record_failed_and_parked(conn, consumer_name, outcome.failed, outcome.parked)
    return outcome


async def apply_batch_retrying(
    pool: asyncpg.Pool, consumer_name: str, batch: list[Decoded], backoff: Backoff, give_up: Callable[[], bool],
    poison: list[Dead] = (), *, replay: bool = False,
) -> list[Dead]:
    """`apply_batch`, again after each transient fault (a failed attempt commits nothing),
    until it succeeds or `give_up()` says to stop: then the fault is raised."""
    while True:
        try:
            return await apply_batch(pool, consumer_name, batch, poison, replay=replay)
        except Exception as exc:
            if not is_transient(exc) or give_up():
                raise
            delay = backoff.next()
            log.warning("transient fault applying batch, retrying", error=repr(exc), retry_in_s=round(delay, 2), size=len(batch))
            await asyncio.sleep(delay)


class _HandlerFailed(Exception):
    """A handler failed for good on the fast path: redo the batch event by event."""


@dataclass
class Outcome:
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, result) -> events
    failed: list[tuple[Decoded, str, str]] = field(default_factory=list)  # failed for good: event, reason, detail
    parked: list[Decoded] = field(default_factory=list)  # held behind an open dead letter of their key
    applied: list[Decoded] = field(default_factory=list)  # took effect now
    seen: list[Decoded] = field(default_factory=list)  # had taken effect before (inbox)

    def count(self, consumer_name: str) -> None:
        for (event_type, result), n in self.counts.items():
            metrics.EVENTS_CONSUMED.labels(consumer_name, event_type, result).inc(n)


async def _apply_in(conn: asyncpg.Connection, consumer_name: str, batch: list[Decoded], *, isolate: bool,
                    blocking: dead_letters.Blocking) -> Outcome:
    """The batch's inbox rows in one statement, then the handlers of the events not seen
    before, in order; consecutive events of one batch handler go to it together (alone,
    each in its savepoint, when `isolate`).

    An event of a key that `blocking` holds (an open dead letter of that key) is parked
    instead: it gets no inbox row and no handler call. A record that is itself an open dead
    letter (redelivered after a crash before the offset commit) is reported as failed again
    (its DLQ copy may not have been sent) and not applied. When `isolate`, an event that
    fails for good blocks its key for the rest of the batch."""
    outcome = Outcome()
    if blocking:
        held, batch = blocking.split(batch)
        for item in held:
            if blocking.is_dead_letter(item):
                outcome.failed.append((item, "handler_error", blocking.error_of(item)))
                outcome.counts[item.envelope.type, "dead_letter"] += 1
            else:
                outcome.parked.append(item)
                outcome.counts[item.envelope.type, "parked"] += 1
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
            outcome.seen.append(item)
            continue
        fresh.discard(item.envelope.id)
        todo.append(item)
    unapplied: list[Decoded] = []  # inbox rows to take back: parked behind a failure of this batch
    for group in _groups(todo, isolate):
        first = group[0]
        if isolate and blocking.holds(first.record.key):
            outcome.parked.append(first)
            outcome.counts[first.envelope.type, "parked"] += 1
            unapplied.append(first)
            continue
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
                unapplied.append(first)
                outcome.failed.append((first, "handler_error", repr(exc)))
                blocking.block(first.record.key)  # its key's later events of this batch are parked
                continue
        for item in group:
            outcome.counts[item.envelope.type, "applied"] += 1
        outcome.applied.extend(group)
    if unapplied:
        await conn.execute("delete from inbox where consumer = $1 and event_id = any($2::uuid[])", consumer_name,
                           [item.envelope.id for item in unapplied])
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
    if failpoints.failing("handler"):  # the fault tests' handler bug; a dict lookup otherwise
        for item in group:
            failpoints.fail_for("handler", item.envelope.type, str(item.envelope.id), item.envelope.subject)
    if first.batched:
        await first.handler(conn, [(EventContext(conn, d.envelope, d.record), d.event) for d in group])
    else:
        await first.handler(EventContext(conn, first.envelope, first.record), first.event)
