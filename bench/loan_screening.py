"""Loan screening with 1 and with 2 `consume` workers of loans: applications screened per
second, the same number of applications each time, on the real path (POST /applications
→ outbox → relay → LoanSubmitted → the screening consumers → LoanScreened).

    .venv/bin/python bench/loan_screening.py [--quick]

Each phase submits its applications while loans' relay is stopped, then starts the relay:
the screenings then run flat out, and the rate is screenings / (last − first screened_at).
Between the phases a second worker joins the consumer group (a rebalance).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import date
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from sangsaeng_common.contracts.intake import BusinessRegistered, Stage
from sangsaeng_common.envelope import Envelope

from _row import Row
from _stack import HEADERS, LOAN_OFFICER, BenchStack, bench_stack

WHAT = "loan screening: 1 worker vs 2 workers"
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


async def wait_for(check, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def assigned(process) -> int:
    return Path(process.log_path).read_text(encoding="utf-8", errors="replace").count("partitions assigned")


async def phase(stack: BenchStack, client: httpx.AsyncClient, db: asyncpg.Connection, businesses: list[uuid.UUID], per_business: int,
                rng: random.Random, name: str) -> float:
    """Submit while the relay is stopped, start it, return screenings per second."""
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
    total = before + len(businesses) * per_business
    relay = stack.spawn("loans", "relay", name=f"loans-relay-{name}", **ENV)
    await wait_for(lambda: _at_least(db, total), f"{total} screenings", timeout=600)
    relay.terminate()
    row = await db.fetchrow(
        """select count(*) as n, extract(epoch from max(screened_at) - min(screened_at)) as s
           from (select screened_at from loans.screenings order by seq offset $1) as this_phase""", before)
    return row["n"] / float(row["s"])


async def _at_least(db: asyncpg.Connection, n: int) -> bool:
    return await db.fetchval("select count(*) from loans.screenings") >= n


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
                one = await phase(stack, client, db, businesses, per_business, rng, "1")

                second = stack.spawn("loans", "consume", name="loans-worker-2", LOG_LEVEL="INFO")
                await wait_for(lambda: asyncio.sleep(0, assigned(second) >= 1 and assigned(first) >= 2), "two workers sharing the partitions",
                               timeout=120)
                two = await phase(stack, client, db, businesses, per_business, rng, "2")
        finally:
            await db.close()
    ratio = two / one
    n = businesses_count * per_business
    return [Row(WHAT, f"{two:,.0f} screenings/s with 2", f"{one:,.0f} screenings/s with 1", ratio, "≥ 1.6× with 2", ratio >= 1.6,
                f"{n:,} applications per phase, 75% from one fund round")]


async def _businesses_known(db: asyncpg.Connection, n: int) -> bool:
    return await db.fetchval("select count(*) from loans.businesses") >= n


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    for row in asyncio.run(measure(parser.parse_args().quick)):
        print(row)
