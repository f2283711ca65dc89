"""End to end: a planner's POST /visits/{id}/record answered 201 (VisitRecorded in visits'
outbox) → ReferralSent committed in referrals (the visit found an education need, which
calls for a SEMAS referral; the owner's consent covers SEMAS, so it is sent at once).

    .venv/bin/python bench/end_to_end.py [--quick]

Path: visits' outbox → relay → Kafka → referrals' consumer (inbox, rule, referral row and
ReferralSent in its outbox, one transaction). Visits are recorded open-loop at 100 a
second; the clock stops when referrals' transaction commits (a trigger added to the
throwaway database NOTIFYs at commit, so nothing polls).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date

import asyncpg
import httpx

from _load import Client, open_loop
from _row import Row
from _stack import HEADERS, PLANNER, bench_stack, registration_number

RATE = 100
WHAT = "end to end: VisitRecorded 201 → ReferralSent committed in referrals"
CHANNEL = "bench_referral_sent"


async def wait_for(check, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def prepare(urls: dict[str, str], db: asyncpg.Connection, count: int) -> list[dict]:
    """`count` businesses with consent for SEMAS, each with one scheduled visit."""
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(timeout=60, headers=HEADERS) as client:
        async def business(i: int) -> str:
            async with gate:
                body = {"registration_number": registration_number(500_000 + i), "name": f"가게 {i}", "dong": "제기동",
                        "industry": "음식점업", "employees": 2}
                business_id = (await client.post(f"{urls['intake']}/businesses", json=body)).raise_for_status().json()["id"]
                (await client.post(f"{urls['intake']}/businesses/{business_id}/consents",
                                   json={"agencies": ["SEMAS"], "given_at": "2025-05-02T10:30:00+09:00"})).raise_for_status()
                return business_id

        ids = await asyncio.gather(*(business(i) for i in range(count)))
        await wait_for(_at_least(db, "select count(*) from visits.businesses", count), "visits to know the businesses", 300)
        await wait_for(_at_least(db, "select count(distinct business_id) from referrals.consents", count),
                       "referrals to know the consents", 300)

        async def schedule(business_id: str) -> dict:
            async with gate:
                return (await client.post(f"{urls['visits']}/visits", json={"business_id": business_id, "needs": ["education"]})
                        ).raise_for_status().json()

        return await asyncio.gather(*(schedule(b) for b in ids))


def _at_least(db: asyncpg.Connection, query: str, n: int):
    async def enough() -> bool:
        return await db.fetchval(query) >= n
    return enough


async def measure(quick: bool) -> list[Row]:
    seconds = 2 if quick else 10
    count = RATE * seconds + 20  # 20 for the warm-up
    async with bench_stack("intake", "visits", "referrals") as stack:
        db = await asyncpg.connect(stack.admin_url)
        listener = await asyncpg.connect(stack.admin_url)
        try:
            visits = await prepare(stack.urls, db, count)
            await db.execute(f"""
                create function public.bench_referral_sent() returns trigger language plpgsql as $$
                begin perform pg_notify('{CHANNEL}', new.business_id::text); return null; end $$;
                create trigger bench_referral_sent after insert or update of state on referrals.referrals
                    for each row when (new.state = 'sent') execute function public.bench_referral_sent();""")
            committed: dict[str, float] = {}
            arrived = asyncio.Event()

            def on_notify(_conn, _pid, _channel, business_id: str) -> None:
                committed.setdefault(business_id, time.perf_counter())
                if len(committed) >= len(visits):
                    arrived.set()

            await listener.add_listener(CHANNEL, on_notify)
            answered: dict[str, float] = {}
            client = Client(stack.urls["visits"], PLANNER)

            async def record(i: int) -> int:
                visit = visits[i]
                body = {"planner_id": visit["planner_id"], "visited_on": date(2025, 5, 12).isoformat(), "outcome": "met",
                        "needs_identified": ["education"]}
                status, _ = await client.post(f"/visits/{visit['id']}/record", body)
                answered[visit["business_id"]] = time.perf_counter()
                return status

            warm = await open_loop(record, 20, 1)  # the first events wait for consumers' first fetches
            sample = await open_loop(lambda i: record(20 + i), RATE, seconds)
            if warm.errors or sample.errors:
                raise RuntimeError(f"{warm.errors + sample.errors} visits were not recorded ({sample.unanswered} not answered: overloaded)")
            await asyncio.wait_for(arrived.wait(), 120)
            await client.close()
        finally:
            await listener.close()
            await db.close()
    latencies = sorted((committed[v["business_id"]] - answered[v["business_id"]]) * 1000 for v in visits[20:])
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1]
    return [Row(WHAT, f"p50 {p50:.0f} ms, p99 {p99:.0f} ms", "—", None, "p50 < 50 ms, p99 < 250 ms", p50 < 50 and p99 < 250,
                f"{len(latencies):,} visits at {RATE}/s; HTTP answer p99 {sample.p99:.0f} ms")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    for row in asyncio.run(measure(parser.parse_args().quick)):
        print(row)
