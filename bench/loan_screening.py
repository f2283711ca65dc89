"""Loan screening scale-out with 1, 2 and 4 `consume` workers of loans: throughput per busy
core, the same number of applications each time, on the real path (POST /applications →
outbox → relay → LoanSubmitted → the screening consumers → LoanScreened).

    .venv/bin/python bench/loan_screening.py [--quick]

Each phase submits its applications while loans' relay is stopped, then starts the relay:
the screenings then run flat out. Each worker's CPU (utime + stime from /proc/<pid>/stat) is
read when the first screening of the phase is committed and when the last one is; busy cores = the
workers' CPU seconds ÷ that wall time, and throughput per busy core = screenings/s ÷ busy
cores. Two cores cannot show 2 workers going 1.6× faster (the API, the relay, PostgreSQL and
the broker share them); per busy core shows whether workers serialise (on a lock, a hot row,
a partition): if they did, the same screenings would cost more CPU, or the CPU would sit idle.
Between the phases more workers join the consumer group (a rebalance).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from sangsaeng_common.contracts.intake import BusinessRegistered, Stage
from sangsaeng_common.envelope import Envelope

from _proc import cpu_seconds
from _row import Row
from _stack import HEADERS, LOAN_OFFICER, BenchStack, bench_stack

WHAT = "loan screening scale-out: throughput per busy core, 2 and 4 workers vs 1"
TARGET = 0.9  # issue 19: per busy core with 2 and with 4 workers ≥ 0.9× that of 1 worker
WORKERS = (1, 2, 4)
ENV = {"TOPIC_PARTITIONS": "6", "CONSUMER_SESSION_TIMEOUT_MS": "6000"}
FUND_DOCS = ["application_form", "fund_use_plan", "sme_confirmation"]


async def register_businesses(bootstrap: str, count: int) -> list[uuid.UUID]:
    """BusinessRegistered straight on intake's topic, as intake's relay would publish them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        ids = [uuid.uuid4() for _ in range(count)]
        for i, business_id in enumerate(ids):
            envelope = Envelope.wrap(BusinessRegistered(business_id=business_id, registration_number=None, name=f"가게 {i}", dong="제기동",
                                                        industry="음식점업", employees=2, is_micro_business=True, stage=Stage.operating,
                                                        registered_on=date(2023, 3, 2)))
            await producer.send(BusinessRegistered.topic(), key=envelope.key, value=envelope.data, headers=envelope.kafka_headers())
        await producer.flush()
        return ids
    finally:
        await producer.stop()


async def wait_for(check, what: str, timeout: float, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


def assigned(process) -> int:
    return Path(process.log_path).read_text(encoding="utf-8", errors="replace").count("partitions assigned")


@dataclass(frozen=True)
class Phase:
    workers: int
    screenings: int
    wall_seconds: float  # relay started → the last screening committed
    worker_cpu_seconds: float  # every worker's utime + stime over that span

    @property
    def per_second(self) -> float:
        return self.screenings / self.wall_seconds

    @property
    def busy_cores(self) -> float:
        return self.worker_cpu_seconds / self.wall_seconds

    @property
    def per_busy_core(self) -> float:
        return self.per_second / self.busy_cores

    def describe(self) -> str:
        return (f"{self.per_busy_core:,.0f} screenings/s per busy core with {self.workers} "
                f"({self.per_second:,.0f}/s on {self.busy_cores:.2f} cores)")


async def phase(stack: BenchStack, client: httpx.AsyncClient, db: asyncpg.Connection, businesses: list[uuid.UUID], per_business: int,
                rng: random.Random, workers: list) -> Phase:
    """Submit while the relay is stopped, start it, measure until every screening is in."""
    api = stack.urls["loans"]
    before = await db.fetchval("select count(*) from loans.screenings")
    gate = asyncio.Semaphore(16)

    async def one_business(business_id: uuid.UUID) -> None:
        for _ in range(per_business):  # one business's applications one after the other
            fund = rng.random() < 0.75
            body = {"business_id": str(business_id), "program": "sme_development_fund" if fund else "bank_cooperation",
                    "amount_krw": rng.randrange(10, 31) * 1_000_000, "purpose": "operating", "term_months": 60,
                    "documents": FUND_DOCS if fund else ["application_form", "sme_confirmation"], "submitted_on": "2025-05-02"}
            async with gate:
                response = await client.post(f"{api}/applications", json=body, headers=HEADERS)
            response.raise_for_status()

    await asyncio.gather(*(one_business(b) for b in businesses))
    n = len(businesses) * per_business
    total = before + n
    relay = stack.spawn("loans", "relay", name=f"loans-relay-{len(workers)}", **ENV)
    # The clocks start at the first screening committed, not at the relay's start: the
    # relay's own start-up (a second or two of imports) is no work of the workers'.
    await wait_for(lambda: _at_least(db, before + 1), "the first screening", timeout=120, every=0.005)
    cpu_before, started, first = sum(cpu_seconds(w.pid) for w in workers), time.perf_counter(), await _count(db)
    await wait_for(lambda: _at_least(db, total), f"{total} screenings", timeout=600, every=0.005)
    wall = time.perf_counter() - started
    cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu_before
    relay.terminate()
    return Phase(len(workers), total - first, wall, cpu)


async def _count(db: asyncpg.Connection) -> int:
    return await db.fetchval("select count(*) from loans.screenings")


async def _at_least(db: asyncpg.Connection, n: int) -> bool:
    return await _count(db) >= n


async def measure(quick: bool) -> list[Row]:
    businesses_count, per_business = (100, 3) if quick else (250, 4)
    rng = random.Random(10)
    async with bench_stack(provision_only=("loans",), env=ENV) as stack:
        api = stack.spawn("loans", "api", name="loans-api")
        await api.wait_ready(f"{stack.urls['loans']}/ready", timeout=90)
        first = stack.spawn("loans", "consume", name="loans-worker-1", LOG_LEVEL="INFO")  # logs its assignments
        db = await asyncpg.connect(stack.admin_url)
        try:
            async with httpx.AsyncClient(timeout=60) as client:
                budget = {"name": "bench", "opens_on": "2025-04-21", "closes_on": "2025-09-16", "budget_krw": 1_000_000_000_000}
                (await client.put(f"{stack.urls['loans']}/rounds/2025-1", json=budget, headers=LOAN_OFFICER)).raise_for_status()
                businesses = await register_businesses(stack.bootstrap_servers, businesses_count)
                await wait_for(lambda: _businesses_known(db, len(businesses)), "loans to know the businesses", timeout=180)
                workers = [first]
                phases = []
                for count in WORKERS:
                    seen = {w.name: assigned(w) for w in workers}
                    joining = [stack.spawn("loans", "consume", name=f"loans-worker-{n}", LOG_LEVEL="INFO")
                               for n in range(len(workers) + 1, count + 1)]
                    if joining:
                        await _rebalanced(workers, joining, seen)
                        workers += joining
                    phases.append(await phase(stack, client, db, businesses, per_business, rng, workers))
        finally:
            await db.close()
    one, *more = phases
    ratios = [p.per_busy_core / one.per_busy_core for p in more]
    n = businesses_count * per_business
    return [Row(WHAT, "; ".join(p.describe() for p in more), one.describe(), min(ratios),
                f"≥ {TARGET}× with 2 and with 4", all(r >= TARGET for r in ratios),
                f"{n:,} applications per phase, 75% from one fund round; per busy core vs 1 worker: "
                + ", ".join(f"{p.workers} workers {r:.2f}×" for p, r in zip(more, ratios, strict=True))
                + "; busy cores = the workers' CPU from /proc ÷ wall (the API, relay, PostgreSQL and broker not counted)")]


async def _rebalanced(workers: list, joining: list, seen: dict[str, int]) -> None:
    """Every new worker has partitions and every old one has been assigned again (`seen`:
    how many assignments each had logged before the new ones started)."""
    await wait_for(lambda: asyncio.sleep(0, all(assigned(w) >= 1 for w in joining)
                                         and all(assigned(w) > seen[w.name] for w in workers)),
                   f"{len(workers) + len(joining)} workers sharing the partitions", timeout=120)


async def _businesses_known(db: asyncpg.Connection, n: int) -> bool:
    return await db.fetchval("select count(*) from loans.businesses") >= n


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    for row in asyncio.run(measure(parser.parse_args().quick)):
        print(row)
