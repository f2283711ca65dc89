"""Audit replay: a service's read models rebuilt from the log into its scratch schema (what
an auditor runs: `python -m visits replay`, or POST /admin/replay), against raw aiokafka
consume + json.loads of the same topic and raw asyncpg COPY of the same rows, in one run.

    .venv/bin/python bench/replay.py [--quick]

Fills intake's topic with registrations and stage changes (3 events per business), lets
visits' real consumer build its live tables, then runs the shared replay (libs/common
replay.rebuild: visits' own handlers over every event from offset zero into `visits_replay`)
and checks the rebuild equals the live tables. The COPY baseline writes one row per event
(a business per registration, a history row per stage change) into tables shaped like
visits' own: what the database alone can take in.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _log import Rate, cpu, events_for  # noqa: E402
from _row import Row  # noqa: E402
from consumer_pipeline import pipeline_run  # noqa: E402

WHAT = "audit replay into a scratch schema"
TARGET = 0.5


async def replay(dsn: str, bootstrap: str) -> tuple[Rate, bool]:
    from sangsaeng_common.event_sources import KafkaEvents
    from sangsaeng_common.kafka import KafkaOptions
    from sangsaeng_common.replay import rebuild
    from visits.bootstrap import build

    definition = build()

    cpu_started = cpu()
    result = await rebuild(service="visits", dsn=dsn, source=KafkaEvents(KafkaOptions(bootstrap)), consumers=definition.consumers,
                           read_models=definition.read_models)
    # CPU includes the scratch schema's migrations and the comparison; the time does not.
    return Rate(result.events, result.seconds, cpu() - cpu_started), result.equal


async def raw_copy(url: str, businesses: int) -> Rate:
    import uuid

    import asyncpg

    from sangsaeng_common.contracts.intake import BusinessRegistered

    events = events_for(businesses)
    registered = [(e.business_id, e.registration_number, e.name, e.dong, e.industry, e.employees, e.is_micro_business,
                   e.stage.value, e.registered_on) for e in events if isinstance(e, BusinessRegistered)]
    positions: dict = {}
    history = []
    for e in events:
        if not isinstance(e, BusinessRegistered):
            positions[e.business_id] = positions.get(e.business_id, 0) + 1
            history.append((e.business_id, positions[e.business_id], e.from_stage.value, e.to_stage.value, e.changed_on,
                            uuid.UUID(int=(1 << 100) + len(history))))
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("drop schema if exists bench_copy cascade; create schema bench_copy")
        await conn.execute("create table bench_copy.businesses (like visits.businesses including all)")
        await conn.execute("create table bench_copy.business_stage_history (like visits.business_stage_history including all)")
        started, cpu_started = time.perf_counter(), cpu()
        async with conn.transaction():
            await conn.copy_records_to_table("businesses", schema_name="bench_copy", records=registered,
                                             columns=["id", "registration_number", "name", "dong", "industry", "employees",
                                                      "is_micro_business", "stage", "registered_on"])
            await conn.copy_records_to_table("business_stage_history", schema_name="bench_copy",
                                             records=history,
                                             columns=["business_id", "position", "from_stage", "to_stage", "changed_on", "event_id"])
        return Rate(len(registered) + len(history), time.perf_counter() - started, cpu() - cpu_started)
    finally:
        await conn.close()


async def measure(quick: bool) -> list[Row]:
    # The pipeline's run leaves the live tables the rebuild is compared with.
    async with pipeline_run(quick) as run:
        events, raw = run.events, run.raw
        rebuilt, equal = await replay(run.dsn, run.bootstrap)
        copy = await raw_copy(run.postgres.url("bench"), run.businesses)
    if not equal:
        raise RuntimeError("the rebuilt read models differ from the live ones")
    ratio = rebuilt.per_second / raw.per_second
    note = (f"{events:,} events through visits' own handlers into visits_replay, equal to the live tables; "
            f"raw COPY of the same rows: {copy.per_second:,.0f} rows/s (replay = {rebuilt.per_second / copy.per_second:.2f}× of it)")
    # Unequal tables raised above: the row then fails (not met), louder than a "no".
    return [Row(WHAT, rebuilt.describe(), raw.describe(), ratio, f"≥ {TARGET}×, equal to the live tables", ratio >= TARGET and equal, note)]


if __name__ == "__main__":
    from _standalone import main

    main(measure)
