"""End to end: a planner's POST /visits/{id}/record answered 201 (VisitRecorded in visits'
outbox) → ReferralSent committed in referrals (the visit found an education need, which
calls for a SEMAS referral; the owner's consent covers SEMAS, so it is sent at once).

    .venv/bin/python bench/end_to_end.py [--quick]

Path: visits' outbox → relay → Kafka → referrals' consumer (inbox, rule, referral row and
ReferralSent in its outbox, one transaction). Visits are recorded open-loop at 100 a
second (after a phase at 50 a second, shown in the note: where the machine still has cores to
spare); the clock stops when referrals' transaction commits (a trigger added to the
throwaway database NOTIFYs at commit, so nothing polls).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date

import asyncpg
import httpx

from _load import Client, Latencies, open_loop
from _row import Row
from _stack import HEADERS, bench_stack, planner_headers, registration_number

RATE = 100
HALF_RATE = RATE // 2
WHAT = "end to end: VisitRecorded 201 → ReferralSent committed in referrals"
CHANNEL = "bench_referral_sent"
P50_MS, P99_MS = 25, 100  # issue 19 (was 50 and 250)


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
    warm_up = 20  # the first events wait for consumers' first fetches
    rates = (HALF_RATE, RATE)  # half the rate first: where the machine still has cores to spare
    count = warm_up + sum(rate * seconds for rate in rates)
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
            waiting: dict[str, asyncio.Event] = {}

            def on_notify(_conn, _pid, _channel, business_id: str) -> None:
                committed.setdefault(business_id, time.perf_counter())
                if business_id in waiting:
                    waiting.pop(business_id).set()

            await listener.add_listener(CHANNEL, on_notify)
            answered: dict[str, float] = {}
            # each visit recorded by its assigned planner's person (own_visits_only)
            clients = {pid: Client(stack.urls["visits"], planner_headers(pid)) for pid in {v["planner_id"] for v in visits}}

            async def record(i: int) -> int:
                visit = visits[i]
                body = {"planner_id": visit["planner_id"], "visited_on": date(2025, 5, 12).isoformat(), "outcome": "met",
                        "needs_identified": ["education"]}
                status, _ = await clients[visit["planner_id"]].post(f"/visits/{visit['id']}/record", body)
                answered[visit["business_id"]] = time.perf_counter()
                return status

            async def phase(first: int, rate: int, seconds: float) -> tuple[list[float], Latencies]:
                """Record visits[first:] at `rate` a second; the latencies once all were sent."""
                n = int(rate * seconds)
                mine = [v["business_id"] for v in visits[first:first + n]]
                for business_id in mine:
                    waiting.setdefault(business_id, asyncio.Event())
                loaded = await open_loop(lambda i: record(first + i), rate, seconds)
                if loaded.errors:
                    raise RuntimeError(f"{loaded.errors} visits were not recorded ({loaded.unanswered} not answered: overloaded)")
                await asyncio.wait_for(asyncio.gather(*(waiting[b].wait() for b in mine if b in waiting)), 120)
                return sorted((committed[b] - answered[b]) * 1000 for b in mine), loaded

            await phase(0, warm_up, 1)
            half, _ = await phase(warm_up, HALF_RATE, seconds)
            await asyncio.sleep(2)  # the queues drain between the phases
            full, sample = await phase(warm_up + HALF_RATE * seconds, RATE, seconds)
            for client in clients.values():
                await client.close()
        finally:
            await listener.close()
            await db.close()
    (p50, p99), (half_p50, half_p99) = _p50_p99(full), _p50_p99(half)
    return [Row(WHAT, f"p50 {p50:.0f} ms, p99 {p99:.0f} ms", "—", None, f"p50 < {P50_MS} ms, p99 < {P99_MS} ms",
                p50 < P50_MS and p99 < P99_MS,
                f"{len(full):,} visits at {RATE}/s; HTTP answer p99 {sample.p99:.0f} ms; at {HALF_RATE}/s before it: "
                f"p50 {half_p50:.0f} ms, p99 {half_p99:.0f} ms")]


def _p50_p99(sorted_ms: list[float]) -> tuple[float, float]:
    return sorted_ms[len(sorted_ms) // 2], sorted_ms[int(len(sorted_ms) * 0.99) - 1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    for row in asyncio.run(measure(parser.parse_args().quick)):
        print(row)
