"""Outbox relay: N rows committed to an outbox → published to Kafka and marked, against a
raw aiokafka producer sending the same records (same keys, values and headers; the
producer settings every Sangsaeng component uses: acks=all, linger 2 ms).

    .venv/bin/python bench/relay.py [--rows 20000]

The relay runs in this process (the same `OutboxRelay` as `python -m <service> relay`)
over a scratch schema migrated like a service's; the clock starts when the transaction
holding the N rows commits (its NOTIFY wakes the relay) and stops when the last row is
marked published.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import date

from sangsaeng_common.contracts.intake import BusinessRegistered, Stage
from sangsaeng_common.db import connect, migrate, migrations_in
from sangsaeng_common.envelope import Envelope
from sangsaeng_common.kafka import KafkaOptions, ensure_topics, make_producer
from sangsaeng_common.outbox import OutboxRelay
from sangsaeng_devstack.broker import Broker
from sangsaeng_devstack.postgres import Postgres

from _row import Row

SCHEMA = "relay_bench"
PARTITIONS = 6
WHAT = "outbox relay: rows committed → published and marked"
TARGET = 0.8  # issue 19 (was 0.5)


def envelopes(n: int) -> list[Envelope]:
    """Events the size and shape of intake's BusinessRegistered (about 250 bytes of JSON and
    nine CloudEvents headers each), one business each."""
    return [
        Envelope.wrap(BusinessRegistered(business_id=uuid.uuid4(), registration_number=f"{i:010d}", name=f"동대문 가게 {i}", dong="제기동",
                                         industry="음식점업", employees=2, is_micro_business=True, stage=Stage.operating,
                                         registered_on=date(2023, 3, 2)))
        for i in range(n)
    ]


async def raw_producer(kafka: KafkaOptions, topic: str, batch: list[Envelope]) -> float:
    """Seconds for a bare aiokafka producer to send every record and have every ack."""
    producer = make_producer(kafka, "bench-raw")
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, key=e.subject.encode(), value=e.data,
                                       headers=[(k, v.encode()) for k, v in e.headers().items()]) for e in batch]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def relay_run(dsn: str, kafka: KafkaOptions, topic: str, batch: list[Envelope]) -> float:
    """Seconds from the commit of `batch` into the outbox to the last row marked published."""
    relay = OutboxRelay(dsn=dsn, schema=SCHEMA, kafka=kafka)
    task = asyncio.create_task(relay.run())
    conn = await connect(dsn, SCHEMA, "bench-relay-writer")
    try:
        while not relay.is_leader:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # the leader's producer starts after it takes the lock
        async with conn.transaction():
            await conn.executemany(
                "insert into outbox (event_id, topic, key, event_type, headers, payload) values ($1, $2, $3, $4, $5, $6)",
                [(e.id, topic, e.subject, e.type, e.headers(), e.data) for e in batch],
            )
            last = await conn.fetchval("select max(seq) from outbox")
        committed = time.perf_counter()
        while not await conn.fetchval("select published_at is not null from outbox where seq = $1", last):
            await asyncio.sleep(0.005)
        seconds = time.perf_counter() - committed
        assert await conn.fetchval("select count(*) from outbox where published_at is null") == 0
        return seconds
    finally:
        relay.stop()
        await asyncio.wait_for(task, 30)
        await conn.close()


async def measure(quick: bool) -> list[Row]:
    n = 2_000 if quick else 20_000
    rounds = 1 if quick else 2
    with Broker() as broker, Postgres() as postgres:
        kafka = KafkaOptions(broker.bootstrap_servers)
        dsn = postgres.admin_url
        conn = await connect(dsn, "public", "bench-relay-setup")
        try:
            await conn.execute(f"create schema {SCHEMA}")
            await conn.execute(f"set search_path = {SCHEMA}")
            await migrate(conn, SCHEMA, migrations_in("sangsaeng_common.migrations", "common"))
        finally:
            await conn.close()
        await ensure_topics(kafka, {"bench.raw": PARTITIONS, "bench.relay": PARTITIONS})
        await raw_producer(kafka, "bench.raw", envelopes(200))  # warm-up: metadata, connections
        raw, relayed = [], []
        for _ in range(rounds):  # interleaved, best of each: the machine is shared
            batch = envelopes(n)
            raw.append(n / await raw_producer(kafka, "bench.raw", batch))
            relayed.append(n / await relay_run(dsn, kafka, "bench.relay", batch))
    ratio = max(relayed) / max(raw)
    return [Row(WHAT, f"{max(relayed):,.0f} events/s", f"{max(raw):,.0f} records/s (aiokafka producer)", ratio, f"≥ {TARGET}×",
                ratio >= TARGET, f"{n:,} rows of ~{len(batch[0].data)} B")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    for row in asyncio.run(measure(parser.parse_args().quick)):
        print(row)
