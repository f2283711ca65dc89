"""How fast a replay rebuilds visits' read models from the log: from Kafka's offset zero
and from the audit ledger, over the same events.

    .venv/bin/python bench/replay_rate.py [--businesses 2000 --changes 2 --sources kafka,ledger]

Registers businesses through intake (and moves each through some stage changes), waits
until visits has applied them all (and audit has recorded them), then runs
`python -m visits replay --source <source>` for each source and prints what it reports:
events replayed, seconds, events/s, and whether the rebuild equals the live tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

import asyncpg
import httpx

from _stack import AUDITOR_TOKEN, HEADERS, bench_stack, registration_number

STAGES = ["closing", "operating"]


async def main(businesses: int, changes: int, sources: list[str]) -> None:
    async with bench_stack("intake", "visits", *(["audit"] if "ledger" in sources else [])) as stack:
        limit = asyncio.Semaphore(16)
        async with httpx.AsyncClient(timeout=60, headers=HEADERS) as client:
            async def one(i: int) -> None:
                async with limit:
                    body = {"registration_number": registration_number(i), "name": f"가게 {i}", "dong": "회기동", "industry": "음식점업", "employees": 2}
                    business = (await client.post(f"{stack.urls['intake']}/businesses", json=body)).json()["id"]
                    for n in range(changes):
                        await client.post(f"{stack.urls['intake']}/businesses/{business}/stage", json={"stage": STAGES[n % 2]})

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(businesses)))
            print(f"{businesses} registrations and {businesses * changes} stage changes in {time.perf_counter() - started:.1f} s")
        conn = await asyncpg.connect(stack.postgres.url("bench"))
        try:
            expected = businesses * changes
            while await conn.fetchval("select count(*) from visits.business_stage_history") < expected:
                await asyncio.sleep(0.2)
            while "ledger" in sources and await conn.fetchval("select count(*) from audit.ledger") < businesses * (1 + changes):
                await asyncio.sleep(0.2)
        finally:
            await conn.close()
        for source in sources:
            ledger = {"LEDGER_URL": stack.urls["audit"], "AUDITOR_TOKEN": AUDITOR_TOKEN} if source == "ledger" else {}
            result = subprocess.run([sys.executable, "-m", "visits", "replay", "--source", source],
                                    env={**os.environ, **stack.envs["visits"], **ledger}, capture_output=True, text=True, timeout=600)
            report = json.loads(result.stdout)
            print(f"replay of visits from {source}: {report['events']} events in {report['seconds']} s = "
                  f"{report['events_per_second']:,.0f} events/s; equal to live: {report['equal']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--businesses", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=2)
    parser.add_argument("--sources", default="kafka,ledger", help="comma-separated: kafka, ledger")
    args = parser.parse_args()
    asyncio.run(main(args.businesses, args.changes, args.sources.split(",")))
