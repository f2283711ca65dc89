"""Consumer pipeline: Sangsaeng's EventConsumer (decode, inbox, effect, offset commit) against
raw aiokafka consume + json.loads of the same topic, in the same run.

    .venv/bin/python bench/consumer_pipeline.py [--quick]

Fills intake's topic with registrations and stage changes (3 events per business, 6
partitions), consumes it raw, then runs visits' real consumer (its handlers, its schema,
its inbox) over it from offset zero and checks the effects: every business and every
stage change in visits' tables. The clock starts once the group has its partitions (the
development broker takes seconds to form a group) and stops when the last offset is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _log import Rate, cpu, fill_topic, raw_consume  # noqa: E402
from _row import Row  # noqa: E402

WHAT = "consumer pipeline: decode, inbox, effect, offset commit"
TARGET = 0.35  # issue 19 (was 0.25)


async def visits_schema(admin_url: str) -> str:
    from sangsaeng_common.db import connect, migrate, service_migrations
    from sangsaeng_devstack.provision import provision

    dsn = (await provision(admin_url, "bench", ["visits"]))["visits"].url
    conn = await connect(dsn, "visits", "bench-migrate")
    try:
        await migrate(conn, "visits", service_migrations("visits"))
    finally:
        await conn.close()
    return dsn


async def run_pipeline(dsn: str, bootstrap: str, expected: int, businesses: int) -> Rate:
    from sangsaeng_common.consumer import EventConsumer
    from sangsaeng_common.db import create_pool
    from sangsaeng_common.kafka import KafkaOptions
    from visits.bootstrap import build

    [handlers] = build().consumers  # visits' one consumer, as `python -m visits consume` runs it

    pool = await create_pool(dsn, "visits", "bench-consumer", 2, 10)
    consumer = EventConsumer(handlers, pool=pool, kafka=KafkaOptions(bootstrap), fetch_max_wait_ms=25)
    task = asyncio.create_task(consumer.run())
    try:
        # The bench reads the consumer's private state: when it has partitions, and the
        # offsets it has committed (set only after the commit succeeded).
        while not (consumer._consumer is not None and consumer._consumer.assignment()):  # noqa: SLF001
            await asyncio.sleep(0.002)
        started, cpu_started = time.perf_counter(), cpu()
        while sum(consumer._positions.values()) < expected:  # noqa: SLF001
            if task.done():
                task.result()
            await asyncio.sleep(0.002)
        rate = Rate(expected, time.perf_counter() - started, cpu() - cpu_started)
        registered = await pool.fetchval("select count(*) from businesses")
        changes = await pool.fetchval("select count(*) from business_stage_history")
        if (registered, changes) != (businesses, 2 * businesses):
            raise RuntimeError(f"visits holds {registered} businesses and {changes} stage changes, expected {businesses} and {2 * businesses}")
        return rate
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 30)
        await pool.close()


@dataclass
class PipelineRun:
    """Intake's topic filled, consumed raw and through visits' real consumer, on servers still up."""

    businesses: int
    events: int
    bootstrap: str
    postgres: Any
    dsn: str
    raw: Rate
    pipeline: Rate


@contextlib.asynccontextmanager
async def pipeline_run(quick: bool) -> AsyncIterator[PipelineRun]:
    """The same events, the raw baseline and the live pipeline, for this row and the replay's."""
    from sangsaeng_devstack.broker import Broker
    from sangsaeng_devstack.postgres import Postgres

    from sangsaeng_common.process import tune_gc

    businesses = 2_000 if quick else 10_000
    with Broker() as broker, Postgres() as postgres:
        bootstrap = broker.bootstrap_servers
        events = await fill_topic(bootstrap, businesses)
        tune_gc()  # as a service's process does once started; the baseline gets it too
        raw = await raw_consume(bootstrap, events)
        dsn = await visits_schema(postgres.admin_url)
        pipeline = await run_pipeline(dsn, bootstrap, events, businesses)
        yield PipelineRun(businesses, events, bootstrap, postgres, dsn, raw, pipeline)


async def measure(quick: bool) -> list[Row]:
    async with pipeline_run(quick) as run:
        events, raw, pipeline = run.events, run.raw, run.pipeline
    ratio = pipeline.per_second / raw.per_second
    note = (f"{events:,} events through visits' real consumer, 6 partitions, up to 500 records a poll: a poll in one transaction "
            "(one inbox INSERT, the directory's batch handler, no savepoints unless a handler fails), the next poll decoded "
            "meanwhile; what remains is Python work per event: aiokafka's record, the CloudEvents headers and ids, pydantic, "
            "asyncpg's encoding of the arrays")
    return [Row(WHAT, pipeline.describe(), raw.describe(), ratio, f"≥ {TARGET}×", ratio >= TARGET, note)]


if __name__ == "__main__":
    from _standalone import main

    main(measure)
