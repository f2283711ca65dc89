"""The one way to consume events: declare handlers, get inbox, dead letters and retries.

    handlers = Handlers("visits")

    @handlers.on(BusinessRegistered)
    async def remember_business(ctx: EventContext, event: BusinessRegistered) -> None:
        await ctx.conn.execute(...)        # the effect, in the inbox transaction
        await ctx.emit(SomethingHappened(...))  # follow-up event, same transaction

For every poll, `EventConsumer`:
1. decodes each record; a poison record (no CloudEvents headers, bad JSON, schema
   violation, unsupported version, wrong source) goes to `sangsaeng.<consumer>.dlq`
   with its reason and origin; an unknown event type is skipped and counted;
2. in ONE transaction, inserts the batch's `(consumer, event_id)` inbox rows in one
   statement and runs the handler of each event that was not there yet (a redelivered
   event has no second effect); batch handlers take runs of events at once. If a
   handler fails for good, that transaction is rolled back and the batch redone event
   by event, each in a savepoint: the failing event is dead-lettered, its inbox row
   removed, and the others take effect. A poll's partitions share one transaction,
   except those with a long run of records: each gets its own, and they run at once;
3. commits the poll's Kafka offsets only after its transactions committed.
The next poll is fetched and decoded while the database applies the one before.
A transient fault (database or broker unreachable) retries the same batch with
capped backoff: no event is ever skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord

from sangsaeng_common import failpoints, metrics, outbox, tracing
from sangsaeng_common.contracts import Event, consumer_group, dlq_topic
from sangsaeng_common.db import is_transient
from sangsaeng_common.envelope import Envelope, PoisonMessage, UnknownEventType
from sangsaeng_common.kafka import KafkaOptions, make_producer
from sangsaeng_common.logging import bound_contextvars, get_logger
from sangsaeng_common.retry import Backoff

log = get_logger(__name__)


@dataclass
class EventContext:
    """What a handler gets besides its event: the transaction's connection and a way
    to emit follow-up events caused by this one."""

    conn: asyncpg.Connection
    envelope: Envelope
    record: ConsumerRecord

    async def emit(self, event: Event, *, topic: str | None = None, envelope: Envelope | None = None) -> Envelope:
        return await outbox.add(
            self.conn,
            event,
            correlation_id=self.envelope.correlation_id,
            causation_id=str(self.envelope.id),
            traceparent=tracing.current_traceparent() or self.envelope.traceparent,
            topic=topic,
            envelope=envelope,
        )


Handler = Callable[[EventContext, Any], Awaitable[None]]
# Takes a run of consecutive events at once, e.g. to write them in one statement; it must
# give the same result as taking them one at a time (it is, when an event of the batch
# fails and the batch is redone event by event to find it).
BatchHandler = Callable[[asyncpg.Connection, list[tuple[EventContext, Any]]], Awaitable[None]]


@dataclass
class Handlers:
    consumer: str  # names the consumer group, the inbox rows and the DLQ topic
    by_type: dict[type[Event], Handler] = field(default_factory=dict)
    # Subscribe by pattern instead of by the handled types' topics, e.g. every
    # `sangsaeng.<service>.events` topic, including those created later.
    topic_pattern: str | None = None
    # Called for a known event that has no handler of its own (with topic_pattern).
    fallback: Handler | None = None
    # Also give the fallback well-formed events of types this code does not know (as
    # event=None, the envelope whole): for a ledger that must keep every event.
    keep_unknown_types: bool = False
    batched: set[Callable[..., Awaitable[None]]] = field(default_factory=set)  # the batch handlers

    def on_any(self, handler: Handler) -> Handler:
        if self.fallback is not None:
            raise ValueError(f"{self.consumer} has a fallback handler already")
        self.fallback = handler
        return handler

    def on_batch(self, *event_types: type[Event]) -> Callable[[BatchHandler], BatchHandler]:
        """One batch handler for runs of consecutive events of these types (see BatchHandler)."""

        def register(handler: BatchHandler) -> BatchHandler:
            for event_type in event_types:
                self.on(event_type)(handler)  # type: ignore[arg-type]
            self.batched.add(handler)
            return handler

        return register

    def on_any_batch(self, handler: BatchHandler) -> BatchHandler:
        """Like `on_any`, for a handler that takes runs of events at once (see BatchHandler)."""
        self.on_any(handler)  # type: ignore[arg-type]
        self.batched.add(handler)
        return handler

    def on(self, event_type: type[Event]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if event_type in self.by_type:
                raise ValueError(f"{self.consumer} handles {event_type.ce_type()} twice")
            self.by_type[event_type] = handler
            return handler

        return register

    @property
    def topics(self) -> list[str]:
        return sorted({t.topic() for t in self.by_type})

    @property
    def dlq_topic(self) -> str:
        return dlq_topic(self.consumer)

    @property
    def group_id(self) -> str:
        return consumer_group(self.consumer)


@dataclass
class _Decoded:
    record: ConsumerRecord
    envelope: Envelope
    event: Event | None
    handler: Handler
    batched: bool = False


Dead = tuple[ConsumerRecord, str, str]  # the record, the reason, the detail
# A partition's records of one poll: what to apply and what to dead-letter.
_Polled = tuple[TopicPartition, list[ConsumerRecord], list[_Decoded], list[Dead]]


class _Revoked(Exception):
    """The partition was taken away while its batch was being retried."""


class EventConsumer:
    def __init__(
        self,
        handlers: Handlers,
        *,
        pool: asyncpg.Pool,
        kafka: KafkaOptions,
        max_records: int = 500,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 1_000,
        fetch_max_wait_ms: int = 100,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 5.0,
        own_transaction_from: int = 50,
    ):
        self.handlers = handlers
        self.pool = pool
        self.kafka = kafka
        self.max_records = max_records
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.fetch_max_wait_ms = fetch_max_wait_ms
        # A partition with at least this many records in a poll is applied in a
        # transaction of its own, alongside the others (see _apply_poll).
        self.own_transaction_from = own_transaction_from
        self._backoff_args = (backoff_initial_s, backoff_max_s)
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        # Held while a poll is applied; a rebalance waits for it, so a partition is
        # handed over only between polls, with its offset committed.
        self._busy = asyncio.Lock()
        # Counts rebalances: a poll decoded before one is not applied after it (see _consume).
        self._generation = 0
        self._revoking: set[TopicPartition] = set()
        self._stopping = False
        self._positions: dict[TopicPartition, int] = {}
        self.running = False

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        backoff = Backoff(*self._backoff_args)
        while not self._stopping:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect and resume from the committed offset
                delay = backoff.next()
                log.warning("consumer fault, restarting", consumer=self.handlers.consumer, error=repr(exc), retry_in_s=round(delay, 2))
                await asyncio.sleep(delay)

    def stop(self) -> None:
        self._stopping = True

    async def _run_once(self) -> None:
        consumer = AIOKafkaConsumer(
            **self.kafka.client_kwargs(),
            group_id=self.handlers.group_id,
            client_id=f"{self.handlers.consumer}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
            max_poll_interval_ms=300_000,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            # A pattern subscription finds new topics when metadata is refreshed.
            metadata_max_age_ms=10_000 if self.handlers.topic_pattern else 300_000,
        )
        dlq = make_producer(self.kafka, f"{self.handlers.consumer}-dlq")
        if self.handlers.topic_pattern:
            consumer.subscribe(pattern=self.handlers.topic_pattern, listener=_Listener(self))
        else:
            consumer.subscribe(self.handlers.topics, listener=_Listener(self))
        await consumer.start()
        await dlq.start()
        self._consumer, self._dlq = consumer, dlq
        self.running = True
        try:
            await self._consume(consumer)
        finally:
            self.running = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), 10)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(dlq.stop(), 10)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        """Poll, decode, apply, commit, with the next poll fetched and decoded (this
        process's CPU) while the database applies the one before (its own CPU).

        Polls are applied strictly one after the other, so a partition's records still
        take effect in order. A poll fetched before a rebalance is dropped, not applied:
        the eager rebalance resets every partition's position to its committed offset,
        so its records are fetched again by whoever owns them now."""
        in_flight: asyncio.Task | None = None
        try:
            while not self._stopping:
                batches = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                generation = self._generation
                polled = [(tp, records, *decode_records(self.handlers, records)) for tp, records in batches.items() if records]
                if in_flight is not None:
                    await in_flight
                    in_flight = None
                if polled:
                    in_flight = asyncio.create_task(self._apply_poll(consumer, generation, polled))
                self._report_lag(consumer)
            if in_flight is not None:
                await in_flight
        finally:
            if in_flight is not None and not in_flight.done():
                in_flight.cancel()
                with contextlib.suppress(BaseException):
                    await in_flight

    # ------------------------------------------------------------------ one poll

    async def _apply_poll(self, consumer: AIOKafkaConsumer, generation: int, polled: list[_Polled]) -> None:
        """Apply a poll, then commit its offsets in one request.

        A live system's poll is mostly a few events from each of many partitions: those
        share ONE transaction, since each transaction costs round trips and CPU on both
        sides. A partition with a long run of events (a backlog, a burst) gets a
        transaction of its own, and these run at once on connections of their own, so the
        database works on several while this process waits: order is promised only within
        a partition, and each partition's events stay in one transaction, in order."""
        async with self._busy:
            if generation != self._generation:
                return
            async with asyncio.TaskGroup() as group:  # one failing for good cancels the others
                applying = [group.create_task(self._apply_unit(unit)) for unit in transaction_units(polled, self.own_transaction_from)]
            offsets = {tp: offset for task in applying for tp, offset in task.result().items()}
            if not offsets:
                return
            failpoints.hit("consumer.after_db_commit")
            try:
                await consumer.commit(offsets)
                self._positions.update(offsets)
            except (CommitFailedError, KafkaError) as exc:
                # The effects are committed; whoever reads these partitions next gets the
                # records again and the inbox turns them into no-ops.
                log.warning("offset commit failed; redelivery will be absorbed by the inbox", error=repr(exc))

    async def _apply_unit(self, unit: list[_Polled]) -> dict[TopicPartition, int]:
        """Some partitions' records of a poll in one transaction; the offsets to commit
        (none if a partition was taken away meanwhile)."""
        started = time.perf_counter()
        tps = {tp for tp, *_ in unit}
        try:
            # Poison first: a crash after this and before the offset commit dead-letters
            # the record twice, which is harmless; it never loses it.
            await self._dead_letter(tps, [d for *_, dead in unit for d in dead])
            decoded = [d for _, _, batch, _ in unit for d in batch]
            failed = await self._apply(tps, decoded) if decoded else []
            await self._dead_letter(tps, failed)
        except _Revoked:
            log.info("partition revoked during retries; its new owner resumes it", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in tps))
            return {}
        metrics.HANDLER_LATENCY.labels(self.handlers.consumer).observe(time.perf_counter() - started)
        return {tp: records[-1].offset + 1 for tp, records, _, _ in unit}

    def _give_up(self, tps: set[TopicPartition]) -> bool:
        """Stop retrying: a partition is being taken away, or the consumer stops."""
        return bool(self._revoking & tps) or self._stopping

    async def _apply(self, tps: set[TopicPartition], batch: list[_Decoded]) -> list[tuple[ConsumerRecord, str, str]]:
        try:
            return await apply_batch_retrying(self.pool, self.handlers.consumer, batch, Backoff(*self._backoff_args),
                                              give_up=lambda: self._give_up(tps))
        except Exception as exc:
            if is_transient(exc):  # given up: the partition moves on, or the consumer stops
                raise _Revoked() from exc
            raise

    async def _dead_letter(self, tps: set[TopicPartition], dead: list[tuple[ConsumerRecord, str, str]]) -> None:
        if not dead:
            return
        assert self._dlq is not None
        backoff = Backoff(*self._backoff_args)
        for record, reason, detail in dead:
            headers = list(record.headers or ()) + [
                ("dlq_reason", reason.encode()),
                ("dlq_error", detail[:4000].encode()),
                ("dlq_consumer", self.handlers.consumer.encode()),
                ("dlq_origin_topic", record.topic.encode()),
                ("dlq_origin_partition", str(record.partition).encode()),
                ("dlq_origin_offset", str(record.offset).encode()),
                ("dlq_time", datetime.now(UTC).isoformat().encode()),
            ]
            while True:
                try:
                    await (await self._dlq.send(self.handlers.dlq_topic, key=record.key, value=record.value, headers=headers))
                    break
                except KafkaError as exc:
                    if self._give_up(tps):
                        raise _Revoked() from exc
                    await asyncio.sleep(backoff.next())
            metrics.DEAD_LETTERS.labels(self.handlers.consumer, reason).inc()
            log.warning("dead-lettered", reason=reason, detail=detail[:300], topic=record.topic, partition=record.partition, offset=record.offset)

    def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        # Lag from the highwater a fetch returned, never from end_offsets(): the
        # development broker under-reports ListOffsets.
        for tp in consumer.assignment():
            highwater, position = consumer.highwater(tp), self._positions.get(tp)
            if highwater is not None and position is not None:
                metrics.CONSUMER_LAG.labels(self.handlers.consumer, tp.topic, tp.partition).set(max(0, highwater - position))



def transaction_units(polled: list[_Polled], own_transaction_from: int) -> list[list[_Polled]]:
    """How a poll is split into transactions: each partition with a long run of records
    alone, all the others together (see EventConsumer._apply_poll)."""
    long_runs = [[partition] for partition in polled if len(partition[1]) >= own_transaction_from]
    others = [partition for partition in polled if len(partition[1]) < own_transaction_from]
    return long_runs + ([others] if others else [])


def decode_records(handlers: Handlers, records: list[ConsumerRecord]) -> tuple[list[_Decoded], list[Dead]]:
    """Split a partition's records into events to apply and poison to dead-letter;
    unknown and unhandled types are counted and skipped."""
    decoded: list[_Decoded] = []
    dead: list[Dead] = []
    for record in records:
        try:
            envelope = Envelope.from_kafka(record.headers, record.value)
            event = envelope.decode(record.topic)
        except UnknownEventType as exc:
            if handlers.fallback is not None and handlers.keep_unknown_types:
                decoded.append(_Decoded(record, envelope, None, handlers.fallback, handlers.fallback in handlers.batched))
            else:
                metrics.EVENTS_CONSUMED.labels(handlers.consumer, str(exc), "unknown_type").inc()
            continue
        except PoisonMessage as poison:
            dead.append((record, poison.reason, poison.detail))
            continue
        except Exception as exc:  # noqa: BLE001 - decoding touches no I/O: whatever it raises, the
            # record is at fault, and raising would restart the consumer on it for ever
            dead.append((record, "undecodable", repr(exc)))
            continue
        handler = handlers.by_type.get(type(event)) or handlers.fallback
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(handlers.consumer, envelope.type, "not_handled").inc()
            continue
        decoded.append(_Decoded(record, envelope, event, handler, handler in handlers.batched))
    return decoded, dead


async def apply_batch(pool: asyncpg.Pool, consumer_name: str, batch: list[_Decoded]) -> list[Dead]:
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
    pool: asyncpg.Pool, consumer_name: str, batch: list[_Decoded], backoff: Backoff, give_up: Callable[[], bool]
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


async def _apply_in(conn: asyncpg.Connection, consumer_name: str, batch: list[_Decoded], *, isolate: bool) -> _Outcome:
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
    todo: list[_Decoded] = []
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


def _groups(items: list[_Decoded], isolate: bool) -> list[list[_Decoded]]:
    """Runs of consecutive events for one batch handler; every other event alone."""
    groups: list[list[_Decoded]] = []
    for item in items:
        if not isolate and item.batched and groups and groups[-1][0].handler is item.handler:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


async def _run(conn: asyncpg.Connection, group: list[_Decoded]) -> None:
    first = group[0]
    if first.batched:
        await first.handler(conn, [(EventContext(conn, d.envelope, d.record), d.event) for d in group])
    else:
        await first.handler(EventContext(conn, first.envelope, first.record), first.event)


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: EventConsumer):
        self.owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Let the batch in hand finish and commit its offset before the partition moves.
        self.owner._revoking.update(revoked)  # noqa: SLF001
        try:
            async with self.owner._busy:  # noqa: SLF001
                self.owner._generation += 1  # noqa: SLF001
        finally:
            self.owner._revoking.clear()  # noqa: SLF001

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned", partitions=[f"{tp.topic}:{tp.partition}" for tp in assigned])
