"""Replay: rebuild a service's read models from the log and compare them with the live ones.

The service's own consumers (the very `decode_records` and `apply_batch` that run in
production) are run over every event of their topics, from an event source (the port in
event_sources.py: Kafka from offset zero, or a recorded events feed over HTTP), into the
service's scratch schema `<service>_replay`, which the service's role owns. The live
schema is only read. Events that handlers emit during a replay land in the scratch
outbox, which no relay publishes: a replay never publishes anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
from aiokafka.structs import ConsumerRecord

from sangsaeng_common import tracing
from sangsaeng_common.decoding import Decoded, decode_records
from sangsaeng_common.handlers import Handlers
from sangsaeng_common.inbox import apply_batch_retrying
from sangsaeng_common.db import connect, create_pool, migrate, service_migrations
from sangsaeng_common.envelope import Envelope, PoisonMessage
from sangsaeng_common.event_sources import EventSource, KafkaEvents
from sangsaeng_common.read_models import ReadModel, TableDiff, diff_table
from sangsaeng_common.recorded_events_feed import RecordedEventsFeed
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
    await apply_batch_retrying(pool, handlers.consumer, decoded, Backoff(0.05, 2.0), give_up=lambda: next(attempts, None) is None,
                               replay=True)


REPLAY_ATTEMPTS = 20


async def _replay_consumer(
    pool: asyncpg.Pool, source: EventSource, handlers: Handlers, until: datetime | None, subject: str | None, progress: Progress | None, done: int
) -> int:
    """The consumer's events from the source, applied poll by poll, as live.

    One poll is fetched and decoded while the one before is applied: the decoding (this
    process's CPU) overlaps the database's work. Polls are applied one after the other, in
    order; a poll's partitions at once."""
    count = 0
    applying: asyncio.Task | None = None
    try:
        async with contextlib.aclosing(source.polls(handlers)) as polls:
            async for known, partitions in polls:
                decoded = [_decode(handlers, records, until, subject) for records in partitions]
                count += sum(len(records) for records in partitions)
                if applying is not None:
                    await applying
                applying = asyncio.create_task(_apply_partitions(pool, handlers, decoded))
                if progress is not None:
                    progress(done + count, done + max(known, count))
        if applying is not None:
            await applying
        return count
    finally:
        if applying is not None and not applying.done():
            applying.cancel()
            with contextlib.suppress(BaseException):
                await applying


async def rebuild(
    *,
    service: str,
    dsn: str,
    source: EventSource,
    consumers: list[Handlers],
    read_models: list[ReadModel],
    until: datetime | None = None,
    subject: str | None = None,
    progress: Progress | None = None,
) -> ReplayResult:
    """Rebuild into `<service>_replay` from `source` (every event of each consumer's
    topics) and compare with `<service>`.

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
                events += await _replay_consumer(pool, source, handlers, until, subject, progress, events)
        finally:
            await pool.close()
        seconds = time.perf_counter() - started
        tables = [await diff_table(conn, service, scratch, model, subject) for model in read_models]
        return ReplayResult(events, seconds, tables)
    finally:
        await conn.close()


class ReplaySource(StrEnum):
    """Where a replay reads (`--source`, `?source=`)."""

    kafka = "kafka"  # every topic from offset zero
    ledger = "ledger"  # the recorded events feed at EVENTS_FEED_URL (recorded_events_feed.py)


def event_source(choice: ReplaySource, settings: ServiceSettings, *, token: str = "", url: str | None = None) -> EventSource:
    """The source a choice names; the feed is read with `token` (the caller's own) at `url`,
    by default the configured EVENTS_FEED_URL."""
    if choice is ReplaySource.ledger:
        return RecordedEventsFeed(url or settings.events_feed_url, token)
    return KafkaEvents(settings.kafka)


async def replay_service(definition: ServiceDefinition, settings: ServiceSettings, source: EventSource, **kwargs: Any) -> ReplayResult:
    """`rebuild` for a service: its consumers, its read models, its schema."""
    return await rebuild(
        service=definition.name,
        dsn=settings.database_url,
        source=source,
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
