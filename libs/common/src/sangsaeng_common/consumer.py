"""The live consumer: the aiokafka poll loop that applies what it consumes exactly once in
effect (handlers: handlers.py, decoding: decoding.py, the inbox transaction: inbox.py,
dead letters: dead_letters.py).

For every poll, `EventConsumer`:
1. decodes each record; a poison record (no CloudEvents headers, bad JSON, schema
   violation, unsupported version, wrong source) goes to `sangsaeng.<consumer>.dlq`
   with its reason and origin; an unknown event type is skipped and counted;
2. in ONE transaction, inserts the batch's `(consumer, event_id)` inbox rows in one
   statement and runs the handler of each event that was not there yet (a redelivered
   event has no second effect); batch handlers take runs of events at once. If a
   handler fails for good, that transaction is rolled back and the batch redone event
   by event, each in a savepoint: the failing event is dead-lettered, its inbox row
   removed, and the others take effect (an event of a key whose earlier event is an open
   dead letter is parked instead: dead_letters.py). A poll's partitions share one transaction,
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

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord

from sangsaeng_common import failpoints, metrics
from sangsaeng_common.db import is_transient
from sangsaeng_common.dead_letters import DeadLetters
from sangsaeng_common.decoding import Dead, Decoded, decode_records
from sangsaeng_common.handlers import Handlers
from sangsaeng_common.inbox import apply_batch_retrying
from sangsaeng_common.kafka import KafkaOptions
from sangsaeng_common.logging import get_logger
from sangsaeng_common.retry import Backoff

log = get_logger(__name__)

# A partition's records of one poll: what to apply and what to dead-letter.
_Polled = tuple[TopicPartition, list[ConsumerRecord], list[Decoded], list[Dead]]


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
        idle_rest_s: float | None = None,
        idle_after_s: float = 10.0,
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
        # How long to stop fetching at a time once polls have found nothing for idle_after_s
        # (see _rest); None: never rest.
        self.idle_rest_s = idle_rest_s
        self.idle_after_s = idle_after_s
        self._records_at: float | None = None  # when a poll last found records (or this consumer started)
        # A partition with at least this many records in a poll is applied in a
        # transaction of its own, alongside the others (see _apply_poll).
        self.own_transaction_from = own_transaction_from
        self._backoff_args = (backoff_initial_s, backoff_max_s)
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: DeadLetters | None = None
        # Held while a poll is applied; a rebalance waits for it, so a partition is
        # handed over only between polls, with its offset committed.
        self._busy = asyncio.Lock()
        # Counts rebalances: a poll decoded before one is not applied after it (see _consume).
        self._generation = 0
        self._revoking: set[TopicPartition] = set()
        self._stopping = False
        self._positions: dict[TopicPartition, int] = {}
        self.running = False
        # True once this client has joined its group and been given its partitions (an
        # empty share counts: the group has more members than partitions): only then is an
        # event published from now on delivered without waiting for a join (/ready).
        self.assigned = False

    @property
    def ready(self) -> bool:
        return self.running and self.assigned

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
        dlq = DeadLetters(self.kafka, self.handlers.consumer, self.handlers.dlq_topic)
        if self.handlers.topic_pattern:
            consumer.subscribe(pattern=self.handlers.topic_pattern, listener=_Listener(self))
        else:
            consumer.subscribe(self.handlers.topics, listener=_Listener(self))
        await consumer.start()
        await dlq.start()
        self._consumer, self._dlq = consumer, dlq
        self._records_at = None  # a new client starts with the short wait
        self.running = True
        try:
            await self._consume(consumer)
        finally:
            self.running = self.assigned = False
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
        quiet_since: int | None = None  # the generation whose polls have found nothing since (None: the last one found records)
        try:
            resting = False
            while not self._stopping:
                if resting and in_flight is None:
                    await self._rest(consumer)
                # Resting, one look (about one fetch with the short wait); else up to 500 ms.
                timeout_ms = 2 * self.fetch_max_wait_ms if resting else 500
                batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=self.max_records)
                idle = not any(batches.values())
                resting = self._resting(found_records=not idle)
                generation = self._generation
                polled = [(tp, records, *decode_records(self.handlers, records)) for tp, records in batches.items() if records]
                if in_flight is not None:
                    await in_flight
                    in_flight = None
                if polled:
                    in_flight = asyncio.create_task(self._apply_poll(consumer, generation, polled))
                # Lag moves only when records come or offsets are committed: a second empty poll
                # in a row, with no rebalance between, has nothing new to report.
                if not (idle and quiet_since == generation):
                    self._report_lag(consumer)
                quiet_since = generation if idle else None
            if in_flight is not None:
                await in_flight
        finally:
            if in_flight is not None and not in_flight.done():
                in_flight.cancel()
                with contextlib.suppress(BaseException):
                    await in_flight

    def _resting(self, found_records: bool) -> bool:
        """Whether polls have found nothing for `idle_after_s` (see _rest)."""
        now = time.monotonic()
        if found_records or self._records_at is None:
            self._records_at = now
        return self.idle_rest_s is not None and now - self._records_at >= self.idle_after_s

    async def _rest(self, consumer: AIOKafkaConsumer) -> None:
        """An idle consumer stops fetching for `idle_rest_s`, then looks once (a fetch with
        the short wait) and rests again if nothing came. The fetcher otherwise fetches back to
        back, and the development broker (Tansu) holds each fetch for the whole wait at a cost
        that grows with the partitions it names (bench/idle.py's probes: 180 partitions cost
        it 0.135 of a core at a 25 ms wait, 0.02 at 1 s, nothing paused): most of an idle
        stack's CPU. Pausing changes no assignment and no group membership (heartbeats go on);
        the first event after a quiet spell waits up to `idle_rest_s` more, and a consumer whose
        polls keep finding records, or that paused for less than `idle_after_s` (a load's
        phases, a client's think time), never rests."""
        assert self.idle_rest_s is not None
        resting = consumer.assignment()
        consumer.pause(*resting)
        try:
            deadline = time.monotonic() + self.idle_rest_s
            while not self._stopping and time.monotonic() < deadline:  # a stop is not kept waiting
                await asyncio.sleep(min(0.5, self.idle_rest_s))
        finally:
            # A rebalance meanwhile may have taken some away (a new assignment starts unpaused).
            consumer.resume(*(resting & consumer.assignment()))

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
            poison = [d for *_, dead in unit for d in dead]
            await self._dead_letter(tps, poison)
            decoded = [d for _, _, batch, _ in unit for d in batch]
            # The poison's `dead_letters` rows go in with the batch's transaction, and so do
            # those of the events that fail for good or are parked (dead_letters.py); only
            # what failed is then published, after that transaction committed.
            failed = await self._apply(tps, decoded, poison) if decoded or poison else []
            await self._dead_letter(tps, failed[len(poison):])
        except _Revoked:
            log.info("partition revoked during retries; its new owner resumes it", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in tps))
            return {}
        metrics.HANDLER_LATENCY.labels(self.handlers.consumer).observe(time.perf_counter() - started)
        return {tp: records[-1].offset + 1 for tp, records, _, _ in unit}

    def _give_up(self, tps: set[TopicPartition]) -> bool:
        """Stop retrying: a partition is being taken away, or the consumer stops."""
        return bool(self._revoking & tps) or self._stopping

    async def _apply(self, tps: set[TopicPartition], batch: list[Decoded], poison: list[Dead]) -> list[Dead]:
        try:
            return await apply_batch_retrying(self.pool, self.handlers.consumer, batch, Backoff(*self._backoff_args),
                                              give_up=lambda: self._give_up(tps), poison=poison)
        except Exception as exc:
            if is_transient(exc):  # given up: the partition moves on, or the consumer stops
                raise _Revoked() from exc
            raise

    async def _dead_letter(self, tps: set[TopicPartition], dead: list[Dead]) -> None:
        if not dead:
            return
        assert self._dlq is not None
        try:
            await self._dlq.send(dead, Backoff(*self._backoff_args), give_up=lambda: self._give_up(tps))
        except KafkaError as exc:  # given up: the partition moves on, or the consumer stops
            raise _Revoked() from exc

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
        self.owner.assigned = True
        log.info("partitions assigned", partitions=[f"{tp.topic}:{tp.partition}" for tp in assigned])
