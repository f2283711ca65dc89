"""Transactional outbox and its relay.

A command's effects and its events are committed together (`add` runs on the
command's connection, inside its transaction). The relay, one leader per service,
publishes committed rows in sequence order and marks them published.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError


from sangsaeng_common import failpoints, metrics, tracing
from sangsaeng_common.contracts import Event, is_newest
from sangsaeng_common.db import LOCK_OUTBOX_KEY, LOCK_RELAY_LEADER, connect, is_transient
from sangsaeng_common.envelope import Envelope
from sangsaeng_common.kafka import KafkaOptions, make_producer
from sangsaeng_common.logging import get_logger
from sangsaeng_common.retry import Backoff

log = get_logger(__name__)


async def add(
    conn: asyncpg.Connection,
    event: Event,
    *,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    traceparent: str | None = None,
    actor: str | None = None,
    topic: str | None = None,
    envelope: Envelope | None = None,
) -> Envelope:
    """Insert `event` into the outbox, in the caller's transaction.

    `topic` defaults to the producer's own events topic. To publish one event on a second
    topic too (an agency's own topic), pass the envelope returned by the first call: the
    copy keeps its ce_id, so readers of both topics see one event.
    """
    envelope = _envelope(event, correlation_id=correlation_id, causation_id=causation_id, traceparent=traceparent,
                         actor=actor, envelope=envelope)
    # LOCKING: the relay publishes in `seq` order, but sequence numbers are handed out
    # at insert time while transactions commit in their own order. Two transactions
    # writing events for the same business could take seq 10 and 11 and commit 11
    # first; the relay would then publish 11 before 10 exists, and that business's
    # events would be out of order on its partition. Taking a transaction-scoped
    # advisory lock on the key *before* the insert serialises writers of one key: the
    # second waits until the first commits (or rolls back) and only then takes its seq,
    # so per key, seq order is commit order. Different keys never wait for each other
    # (up to hash collisions, which only cost a short wait). The lock is released at
    # commit, so it cannot outlive the transaction or deadlock with the relay, which
    # never takes it. One statement: the subquery (volatile, so never flattened) takes the
    # lock before the row it yields gets its seq.
    # Advisory locks are database-wide, but the order that matters is one outbox's: the
    # lock names the schema as well as the key. Otherwise every service (and every replay
    # into a scratch schema) writing events about the same business would queue behind
    # one another, and two poll-sized transactions taking two businesses' locks in
    # opposite orders would deadlock.
    await conn.execute(
        """insert into outbox (event_id, topic, key, event_type, headers, payload)
           select $1, $2, $3, $4, $5, $6
             from (select pg_advisory_xact_lock($7, hashtext(current_schema() || ':' || $3))) as key_locked""",
        *_outbox_args(envelope, topic or event.topic()),
    )
    return envelope


async def add_with(
    conn: asyncpg.Connection,
    effect: str,
    effect_args: Sequence[object],
    event: Event,
    *,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    traceparent: str | None = None,
    actor: str | None = None,
) -> tuple[list[asyncpg.Record], Envelope | None]:
    """A command's write and its event in ONE statement: `effect` (an INSERT/UPDATE …
    RETURNING, with parameters $1…$n = `effect_args`) and, if it returned a row, the
    event's outbox row, in one round trip. Returns the effect's rows and the event's
    envelope (None when the effect wrote nothing: no event then).

    One statement is atomic by itself: outside a transaction it needs no BEGIN and COMMIT,
    so a command made of one write and its event costs one round trip instead of four. The
    key's lock is taken as in `add` (see LOCKING there), after the effect and before the
    outbox row takes its seq, and held until the statement's transaction commits."""
    envelope = _envelope(event, correlation_id=correlation_id, causation_id=causation_id, traceparent=traceparent, actor=actor)
    n = len(effect_args)
    p = [f"${n + i}" for i in range(1, 8)]
    rows = await conn.fetch(
        f"""with effect as ({effect}),
                 published as (
                   insert into outbox (event_id, topic, key, event_type, headers, payload)
                   select {p[0]}, {p[1]}, {p[2]}, {p[3]}, {p[4]}, {p[5]}
                     from (select pg_advisory_xact_lock({p[6]}, hashtext(current_schema() || ':' || {p[2]}))
                             from effect limit 1) as key_locked)
            select * from effect""",
        *effect_args, *_outbox_args(envelope, event.topic()),
    )
    return rows, envelope if rows else None


def _envelope(event: Event, *, envelope: Envelope | None = None, **context: str | None) -> Envelope:
    if not is_newest(type(event)):
        # Consumers read every published version, but a producer publishes only the newest.
        raise ValueError(f"{event.ce_type()} is not the newest version of {event.name}: publish the newest")
    return envelope or Envelope.wrap(event, **context)


def _outbox_args(envelope: Envelope, topic: str) -> tuple[object, ...]:
    return envelope.id, topic, envelope.subject, envelope.type, envelope.headers(), envelope.data, LOCK_OUTBOX_KEY


class OutboxRelay:
    """Publishes the outbox of one service schema; one leader at a time.

    Leadership is a session-level advisory lock held by the relay's own connection.
    If the leader dies, Postgres ends its session and releases the lock, and a standby
    (another replica) takes it within `standby_retry_s`. Every read and mark goes over
    that same connection, so a leader that lost its connection also lost the lock and
    cannot go on marking rows.
    """

    def __init__(
        self,
        *,
        dsn: str,
        schema: str,
        kafka: KafkaOptions,
        batch_size: int = 500,
        idle_check_s: float = 10.0,
        standby_retry_s: float = 1.0,
        backoff: Backoff | None = None,
    ):
        self.dsn = dsn
        self.schema = schema
        self.kafka = kafka
        self.batch_size = batch_size
        self.idle_check_s = idle_check_s
        self.standby_retry_s = standby_retry_s
        self.backoff = backoff or Backoff()
        self.is_leader = False
        self._wake = asyncio.Event()
        self._stopping = False
        self._backlog_counted_at = 0.0

    @property
    def channel(self) -> str:
        return f"{self.schema}_outbox"

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every fault is retried, nothing is skipped
                self.is_leader = False
                delay = self.backoff.next()
                log.warning("relay fault, retrying", error=repr(exc), transient=is_transient(exc), retry_in_s=round(delay, 2))
                await asyncio.sleep(delay)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _lead(self) -> None:
        conn = await connect(self.dsn, self.schema, f"{self.schema}-relay-{os.getpid()}")
        producer: AIOKafkaProducer | None = None
        try:
            standing_by = False
            while not await conn.fetchval("select pg_try_advisory_lock($1, hashtext($2))", LOCK_RELAY_LEADER, self.schema):
                if self._stopping:
                    return
                if not standing_by:
                    log.info("relay standing by", schema=self.schema)
                    standing_by = True
                await asyncio.sleep(self.standby_retry_s)
            self.is_leader = True
            log.info("relay is leader", schema=self.schema)
            await conn.add_listener(self.channel, lambda *_: self._wake.set())
            # A lost connection means lost leadership: wake up to find out at once.
            conn.add_termination_listener(lambda *_: self._wake.set())
            producer = make_producer(self.kafka, f"{self.schema}-relay")
            await producer.start()
            self.backoff.reset()
            await self._pump(conn, producer)
        finally:
            self.is_leader = False
            if producer is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(producer.stop(), 5)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    async def _pump(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> None:
        """Publish batches in `seq` order, each marked once all its records are acknowledged.

        The database work overlaps the broker's: the next batch is read while one batch's
        acknowledgements are awaited, and that batch is marked while the next is in flight. A batch is sent only after the one before it was fully
        acknowledged, so a send that fails is never overtaken by a later record of its key.
        If a send fails, the error leaves `_lead`, which drops the producer and the
        leadership; rows stay unmarked and the next leader publishes them again. Some of
        them may already be in Kafka: consumers' inboxes absorb the repeats.
        """
        in_flight: _Batch | None = None
        while not self._stopping:
            # Clear before reading: a notification arriving while we publish sets it
            # again, so no committed row waits for the idle check.
            self._wake.clear()
            rows = await self._fetch(conn, exclude=in_flight.seqs if in_flight else [])
            acknowledged, in_flight = in_flight, None
            if acknowledged is not None:
                await acknowledged.acknowledged
                failpoints.hit("relay.after_publish")
            if rows:
                failpoints.hit("relay.before_publish")
                in_flight = _Batch([r["seq"] for r in rows], await self._send(producer, rows))
            if acknowledged is not None:
                await self._mark(conn, acknowledged.seqs)
            if not rows and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_check_s)
        if in_flight is not None:  # stopping: finish marking what was sent
            await in_flight.acknowledged
            await self._mark(conn, in_flight.seqs)

    async def _fetch(self, conn: asyncpg.Connection, exclude: list[int]) -> list[asyncpg.Record]:
        rows = await conn.fetch(
            """select seq, topic, key, headers, payload, created_at from outbox
               where published_at is null and seq <> all($2::bigint[]) order by seq limit $1""",
            self.batch_size, exclude,
        )
        await self._report_backlog(conn, rows, len(exclude))
        return rows

    @staticmethod
    async def _send(producer: AIOKafkaProducer, rows: list[asyncpg.Record]) -> asyncio.Future:
        futures = []
        for row in rows:
            span, headers = tracing.start_publish(row["topic"], row["key"], row["headers"])
            futures.append(
                await producer.send(
                    row["topic"], key=row["key"].encode(), value=bytes(row["payload"]), headers=[(k, v.encode()) for k, v in headers.items()]
                )
            )
            tracing.end_when_sent(span, futures[-1])
        return asyncio.gather(*futures)

    async def _mark(self, conn: asyncpg.Connection, seqs: list[int]) -> None:
        await conn.execute("update outbox set published_at = now() where seq = any($1::bigint[])", seqs)
        metrics.EVENTS_PUBLISHED.labels(self.schema).inc(len(seqs))
        self.backoff.reset()

    async def _report_backlog(self, conn: asyncpg.Connection, rows: list[asyncpg.Record], in_flight: int) -> None:
        # Counting a long backlog costs a scan: at most once a second.
        if len(rows) < self.batch_size:
            metrics.OUTBOX_BACKLOG.labels(self.schema).set(len(rows) + in_flight)
        elif time.monotonic() - self._backlog_counted_at > 1.0:
            self._backlog_counted_at = time.monotonic()
            metrics.OUTBOX_BACKLOG.labels(self.schema).set(await conn.fetchval("select count(*) from outbox where published_at is null"))
        oldest = rows[0]["created_at"].timestamp() if rows else None
        metrics.OUTBOX_OLDEST_AGE.labels(self.schema).set(time.time() - oldest if oldest else 0)


@dataclass
class _Batch:
    """Rows sent to the broker whose acknowledgements are awaited before they are marked."""

    seqs: list[int]
    acknowledged: asyncio.Future


async def republish(
    *,
    dsn: str,
    schema: str,
    kafka: KafkaOptions,
    from_sequence: int = 1,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Publish the outbox again from `from_sequence`, in sequence order, every row whether
    published or not, with its original ce_id; mark the unpublished ones published.
    Returns how many events went to each topic. For refilling a lost or rebuilt broker.

    Safe with the service running: this takes over the relay's leadership for its run
    (ending the leader's session; that relay stands by and leads again afterwards), so
    nothing else publishes the outbox meanwhile and one service's events reach the broker
    in sequence order. What the old leader still had in flight may arrive once more:
    consumers' inboxes absorb repeats. A row committed later with a lower sequence number
    (its transaction was still open) stays unpublished, and the relay publishes it next,
    after its business's earlier events.
    """
    conn = await connect(dsn, schema, f"{schema}-republish-{os.getpid()}")
    producer = make_producer(kafka, f"{schema}-republish")
    per_topic: dict[str, int] = {}
    try:
        await _take_over_leadership(conn, schema)
        total = await conn.fetchval("select count(*) from outbox where seq >= $1", from_sequence)
        await producer.start()
        after, done = from_sequence - 1, 0
        while True:
            rows = await conn.fetch(
                "select seq, topic, key, headers, payload from outbox where seq > $1 order by seq limit $2", after, batch_size
            )
            if not rows:
                return per_topic
            await _send_retrying(producer, rows)
            await conn.execute(
                "update outbox set published_at = now() where seq = any($1::bigint[]) and published_at is null",
                [r["seq"] for r in rows],
            )
            for row in rows:
                per_topic[row["topic"]] = per_topic.get(row["topic"], 0) + 1
            after, done = rows[-1]["seq"], done + len(rows)
            if progress is not None:
                progress(done, max(total, done))
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), 10)
        await conn.close()  # ends the session, and with it the leadership


REPUBLISH_SEND_ATTEMPTS = 10


async def _send_retrying(producer: AIOKafkaProducer, rows: list[asyncpg.Record]) -> None:
    """A batch sent again after a broker error, a few times, then the error is raised. A broker
    just refilled answers a produce to a topic created a moment ago with an error now and then
    (Tansu: UnknownError). Sending the batch again keeps each key's order; what the failed try
    did deliver arrives twice, and consumers' inboxes absorb repeats."""
    backoff = Backoff(0.1, 2.0)
    for attempt in range(1, REPUBLISH_SEND_ATTEMPTS + 1):
        try:
            await (await OutboxRelay._send(producer, rows))
            return
        except KafkaError as exc:
            if attempt == REPUBLISH_SEND_ATTEMPTS:
                raise
            delay = backoff.next()
            log.warning("republish: the broker refused a batch, sending it again", error=repr(exc), attempt=attempt,
                        retry_in_s=round(delay, 2), size=len(rows))
            await asyncio.sleep(delay)


async def _take_over_leadership(conn: asyncpg.Connection, schema: str) -> None:
    while not await conn.fetchval("select pg_try_advisory_lock($1, hashtext($2))", LOCK_RELAY_LEADER, schema):
        # The leader's session holds the lock (a two-key advisory lock: classid, objid).
        await conn.execute(
            """select pg_terminate_backend(pid) from pg_locks
               where locktype = 'advisory' and granted and objsubid = 2
                 and classid = $1::bigint::oid and objid = (hashtext($2)::bigint & 4294967295)::oid""",
            LOCK_RELAY_LEADER, schema,
        )
        await asyncio.sleep(0.1)
