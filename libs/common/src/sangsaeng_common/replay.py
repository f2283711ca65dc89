"""Replay: rebuild a service's read models from the log and compare them with the live ones.

The service's own consumers (the very `decode_records` and `apply_batch` that run in
production) are run over every event of their topics, from Kafka's offset zero or from
the audit ledger (`LedgerSource`: its HTTP export, in ledger order), into the
service's scratch schema `<service>_replay`, which the service's role owns. The live
schema is only read. Events that handlers emit during a replay land in the scratch
outbox, which no relay publishes: a replay never publishes anything.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from sangsaeng_common import tracing
from sangsaeng_common.decoding import Decoded, decode_records
from sangsaeng_common.handlers import Handlers
from sangsaeng_common.inbox import apply_batch_retrying
from sangsaeng_common.db import connect, create_pool, migrate, service_migrations
from sangsaeng_common.envelope import Envelope, PoisonMessage
from sangsaeng_common.kafka import KafkaOptions
from sangsaeng_common.ledger_client import LedgerSource, ledger_batches
from sangsaeng_common.read_models import ReadModel, TableDiff, diff_table
from sangsaeng_common.retry import Backoff

if TYPE_CHECKING:
    from sangsaeng_common.runtime import ServiceDefinition
    from sangsaeng_common.settings import ServiceSettings


@dataclass
class ReplayResult:
    events: int
    seconds: float
    tables: list[TableDiff]

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables)


Progress = Callable[[int, int], None]  # (events done, events known so far)


async def _drop_everything_in(conn: asyncpg.Connection, schema: str) -> None:
    tables = await conn.fetch("select tablename from pg_tables where schemaname = $1", schema)
    for t in tables:
        await conn.execute(f'drop table if exists "{schema}"."{t["tablename"]}" cascade')
    functions = await conn.fetch(
        "select p.oid::regprocedure::text as sig from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1",
        schema,
    )
    for f in functions:
        await conn.execute(f"drop function if exists {f['sig']} cascade")


async def _topics(kafka: KafkaOptions, handlers: Handlers) -> list[str]:
    if not handlers.topic_pattern:
        return handlers.topics
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        pattern = re.compile(handlers.topic_pattern)
        return sorted(t for t in await consumer.topics() if pattern.match(t))
    finally:
        await consumer.stop()


def _keep(handlers: Handlers, record: ConsumerRecord, until: datetime | None, subject: str | None) -> bool:
    if until is None and subject is None:
        return True
    try:
        envelope = Envelope.from_kafka(record.headers, record.value)
    except PoisonMessage:
        return False
    return (until is None or envelope.time <= until) and (subject is None or envelope.subject == subject)


def _decode(handlers: Handlers, records: list[ConsumerRecord], until: datetime | None, subject: str | None) -> list[Decoded]:
    kept = [r for r in records if _keep(handlers, r, until, subject)]
    decoded, _poison = decode_records(handlers, kept)  # poison was dead-lettered live
    return decoded


async def _apply_partitions(pool: asyncpg.Pool, handlers: Handlers, batches: list[list[Decoded]]) -> None:
    """Each a partition's events: applied at once, as the live consumer applies a poll."""
    with tracing.suppressed():  # old events, not new work in their traces
        async with asyncio.TaskGroup() as group:
            for decoded in batches:
                if decoded:
                    group.create_task(_apply_retrying(pool, handlers, decoded))


async def _apply_retrying(pool: asyncpg.Pool, handlers: Handlers, decoded: list[Decoded]) -> None:
    """A batch is one transaction: after a transient fault (a deadlock between two of the
    batches applied at once, the database restarting) it is applied again, as live. A
    replay is run by hand and watched: it retries a while, then fails loudly rather than hang."""
    attempts = iter(range(REPLAY_ATTEMPTS - 1))
    await apply_batch_retrying(pool, handlers.consumer, decoded, Backoff(0.05, 2.0), give_up=lambda: next(attempts, None) is None)


REPLAY_ATTEMPTS = 20


async def _replay_from_ledger(
    pool: asyncpg.Pool, ledger: LedgerSource, handlers: Handlers, until: datetime | None, subject: str | None, progress: Progress | None, done: int
) -> int:
    """The ledger's events of the consumer's topics, in ledger order. That is the order the
    audit consumer committed them in: each partition's own order, which is all a consumer
    is promised (per key order), as from Kafka."""
    count = 0
    async for total, records in ledger_batches(ledger, handlers.topics, handlers.topic_pattern):
        by_partition: dict[tuple[str, int], list[ConsumerRecord]] = {}
        for record in records:
            by_partition.setdefault((record.topic, record.partition), []).append(record)
        await _apply_partitions(pool, handlers, [_decode(handlers, batch, until, subject) for batch in by_partition.values()])
        count += len(records)
        if progress is not None:
            progress(done + count, done + max(total, count))
    return count


async def _replay_consumer(
    pool: asyncpg.Pool, kafka: KafkaOptions, handlers: Handlers, until: datetime | None, subject: str | None, progress: Progress | None, done: int
) -> int:
    topics = await _topics(kafka, handlers)
    if not topics:
        return 0
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not tps:
            return 0
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        count, idle_polls = 0, 0
        # One poll is fetched and decoded while the one before is applied: the decoding
        # (this process's CPU) overlaps the database's work. Polls are applied one after
        # the other, in order; a poll's partitions at once.
        applying: asyncio.Task | None = None
        while True:
            batches = await consumer.getmany(timeout_ms=300, max_records=2000)
            decoded = [_decode(handlers, records, until, subject) for records in batches.values()]
            count += sum(len(records) for records in batches.values())
            if applying is not None:
                await applying
            applying = asyncio.create_task(_apply_partitions(pool, handlers, decoded))
            if progress is not None:
                known = sum(consumer.highwater(tp) or 0 for tp in tps)
                progress(done + count, done + max(known, count))
            # Caught up is judged by the highwater a fetch returned, never end_offsets():
            # the development broker under-reports ListOffsets.
            positions = [await consumer.position(tp) for tp in tps]
            caught_up = all(consumer.highwater(tp) is not None and pos >= consumer.highwater(tp) for tp, pos in zip(tps, positions))
            idle_polls = 0 if batches else idle_polls + 1
            if caught_up or idle_polls >= 10:
                await applying
                return count
    finally:
        if applying is not None and not applying.done():
            applying.cancel()
        await consumer.stop()


async def rebuild(
    *,
    service: str,
    dsn: str,
    kafka: KafkaOptions,
    consumers: list[Handlers],
    read_models: list[ReadModel],
    until: datetime | None = None,
    subject: str | None = None,
    progress: Progress | None = None,
    ledger: LedgerSource | None = None,
) -> ReplayResult:
    """Rebuild into `<service>_replay` and compare with `<service>`, from Kafka's offset
    zero, or from the audit ledger when `ledger` names it.

    With `until` and/or `subject`, only events up to that time / of that business are
    replayed: the scratch tables then show what the business looked like at that time.
    """
    scratch = f"{service}_replay"
    conn = await connect(dsn, scratch, f"{service}-replay")
    try:
        await _drop_everything_in(conn, scratch)
        await migrate(conn, scratch, service_migrations(service))
        pool = await create_pool(dsn, scratch, f"{service}-replay", 1, 4)
        started, events = time.perf_counter(), 0
        try:
            for handlers in consumers:
                if ledger is not None:
                    events += await _replay_from_ledger(pool, ledger, handlers, until, subject, progress, events)
                else:
                    events += await _replay_consumer(pool, kafka, handlers, until, subject, progress, events)
        finally:
            await pool.close()
        seconds = time.perf_counter() - started
        tables = [await diff_table(conn, service, scratch, model, subject) for model in read_models]
        return ReplayResult(events, seconds, tables)
    finally:
        await conn.close()


class ReplaySource(StrEnum):
    kafka = "kafka"  # every topic from offset zero
    ledger = "ledger"  # the audit ledger, over its HTTP API


async def replay_service(definition: ServiceDefinition, settings: ServiceSettings, **kwargs: Any) -> ReplayResult:
    """`rebuild` for a service: its consumers, its read models, its schema."""
    return await rebuild(
        service=definition.name,
        dsn=settings.database_url,
        kafka=settings.kafka,
        consumers=definition.consumers,
        read_models=definition.read_models,
        **kwargs,
    )


def replay_report(result: ReplayResult) -> dict[str, Any]:
    return {
        "equal": result.equal,
        "events": result.events,
        "seconds": round(result.seconds, 3),
        "events_per_second": round(result.events_per_second, 1),
        "tables": [
            {"table": t.table, "live_rows": t.live_rows, "rebuilt_rows": t.rebuilt_rows, "equal": t.equal,
             "missing": t.missing, "extra": t.extra, "different": t.different}
            for t in result.tables
        ],
    }
