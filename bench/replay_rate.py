"""How fast a replay rebuilds visits' read models from the log.

    .venv/bin/python bench/replay_rate.py [--businesses 2000 --changes 2]

Registers businesses through intake (and moves each through some stage changes), waits
until visits has applied them all, then runs `python -m visits replay` and prints what it
reports: events replayed, seconds, events/s, and whether the rebuild equals the live tables.
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

from _stack import HEADERS, bench_stack, registration_number

STAGES = ["closing", "operating"]


async def main(businesses: int, changes: int) -> None:
    async with bench_stack("intake", "visits") as stack:
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
        finally:
            await conn.close()
        result = subprocess.run([sys.executable, "-m", "visits", "replay"], env={**os.environ, **stack.envs["visits"]},
                                capture_output=True, text=True, timeout=600)
        report = json.loads(result.stdout)
        print(f"replay of visits: {report['events']} events in {report['seconds']} s = {report['events_per_second']:,.0f} events/s; "
              f"equal to live: {report['equal']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--businesses", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.businesses, args.changes))
