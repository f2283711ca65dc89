"""Redrive of 10,000 dead letters: how long an operator's `dlq redrive --all` takes.

    .venv/bin/python bench/dead_letter_redrive.py [--quick]

Fills intake's topic with 10,000 businesses (registered, then two stage changes each),
runs visits' real consumer with the handler bug of the fault tests
(`handler=fail:sangsaeng.intake.BusinessStageChanged.v1`): each business's first change is
dead-lettered (to the DLQ topic and the `dead_letters` table) and its second parked behind
it. Then the bug is fixed (the failpoint cleared) and the clock runs over one
`dead_letters.redrive` of everything, as `python -m visits dlq redrive --all` does: 10,000
dead letters applied through the inbox, each followed by the event parked behind it
(20,000 events in all). The effects are checked: every business closed-then-reopened in
visits' stage history, in order. The baseline is the live consumer over the same number
of events with no dead letters (the same topic's events, consumed without the bug).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _log import Rate, cpu, fill_topic  # noqa: E402
from _row import Row  # noqa: E402
from sangsaeng_common.contracts.intake import BusinessStageChanged  # noqa: E402

WHAT = "redrive of 10,000 dead letters (each with the event parked behind it)"
TARGET_S = 60.0


async def _schema(admin_url: str, database: str) -> str:
    from sangsaeng_common.db import connect, migrate, service_migrations
    from sangsaeng_devstack.provision import provision

    dsn = (await provision(admin_url, database, ["visits"]))["visits"].url
    conn = await connect(dsn, "visits", "bench-migrate")
    try:
        await migrate(conn, "visits", service_migrations("visits"))
    finally:
        await conn.close()
    return dsn


async def _consume(dsn: str, bootstrap: str, expected: int, name: str = "visits") -> tuple[Rate, object]:
    """visits' consumer (as consumer `name`: its own group) until every record's offset is committed."""
    import dataclasses

    from sangsaeng_common.consumer import EventConsumer
    from sangsaeng_common.db import create_pool
    from sangsaeng_common.kafka import KafkaOptions
    from visits.config import VisitPolicy
    from visits.entrypoints.consumers import handlers as visits_handlers

    handlers = dataclasses.replace(visits_handlers(policy=VisitPolicy()), consumer=name)
    pool = await create_pool(dsn, "visits", "bench-consumer", 2, 10)
    consumer = EventConsumer(handlers, pool=pool, kafka=KafkaOptions(bootstrap), fetch_max_wait_ms=25)
    task = asyncio.create_task(consumer.run())
    try:
        while not (consumer._consumer is not None and consumer._consumer.assignment()):  # noqa: SLF001
            await asyncio.sleep(0.002)
        started, cpu_started = time.perf_counter(), cpu()
        while sum(consumer._positions.values()) < expected:  # noqa: SLF001
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        return Rate(expected, time.perf_counter() - started, cpu() - cpu_started), handlers
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 60)
        await pool.close()


async def measure(quick: bool) -> list[Row]:
    from sangsaeng_common import dead_letters, failpoints
    from sangsaeng_common.db import create_pool
    from sangsaeng_common.kafka import KafkaOptions
    from sangsaeng_common.process import tune_gc
    from sangsaeng_devstack.broker import Broker
    from sangsaeng_devstack.postgres import Postgres

    businesses = 1_000 if quick else 10_000
    with Broker() as broker, Postgres() as postgres:
        bootstrap = broker.bootstrap_servers
        events = await fill_topic(bootstrap, businesses)
        tune_gc()
        # Baseline: the same events through the live consumer, no bug.
        clean_dsn = await _schema(postgres.admin_url, "bench_clean")
        live, _ = await _consume(clean_dsn, bootstrap, events, name="visits_clean")

        failpoints.configure(f"handler=fail:{BusinessStageChanged.ce_type()}")
        dsn = await _schema(postgres.admin_url, "bench_dlq")
        failing, handlers = await _consume(dsn, bootstrap, events)
        pool = await create_pool(dsn, "visits", "bench-redrive", 2, 10)
        try:
            counts = dict(await pool.fetch("select status, count(*) from dead_letters group by status"))
            if counts != {"dead": businesses, "parked": businesses}:
                raise RuntimeError(f"expected {businesses} dead and {businesses} parked, found {counts}")
            failpoints.configure("")  # the fix
            started, cpu_started = time.perf_counter(), cpu()
            [report] = await dead_letters.redrive(pool, [handlers], KafkaOptions(bootstrap), principal="bench", consumer="visits")
            seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_started
            if (report.redriven, report.released, report.dead_again) != (businesses, businesses, 0):
                raise RuntimeError(f"redrive report {report.as_dict()}")
            history = await pool.fetchval("select count(*) from business_stage_history")
            left = await pool.fetchval("select count(*) from dead_letters where status <> 'redriven'")
            if history != 2 * businesses or left:
                raise RuntimeError(f"{history} stage changes applied (expected {2 * businesses}), {left} dead letters left")
        finally:
            await pool.close()
    redrive = Rate(2 * businesses, seconds, cpu_seconds)
    note = (f"{businesses:,} dead letters + {businesses:,} parked events ({2 * businesses:,} events) in {seconds:.1f} s, "
            f"chunks of 500 dead letters per transaction (lock, decode, inbox, handlers, mark); dead-lettering them live "
            f"took {failing.seconds:.1f} s (every poll redone event by event in savepoints)")
    return [Row(WHAT, f"{seconds:.1f} s = {redrive.per_second:,.0f} events/s", f"live consumer {live.describe()}",
                redrive.per_second / live.per_second, f"< {TARGET_S:.0f} s", seconds < TARGET_S, note)]


if __name__ == "__main__":
    from _standalone import main

    main(measure)
