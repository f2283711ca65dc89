"""What the development broker itself adds to a hop: a producer's acknowledgement (acks=all,
the services' producer settings) and the time from send to a waiting consumer's poll, for
several fetch waits (`CONSUMER_FETCH_MAX_WAIT_MS`).

    .venv/bin/python bench/broker_latency.py [--waits 25,100,500] [--sends 100]

Tansu holds a fetch for the whole wait even when records arrive meanwhile, so the second
figure grows with the wait; a Kafka broker answers as soon as a record is there.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from aiokafka import AIOKafkaConsumer

TOPIC = "bench.broker-latency"


def _percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    return f"p50 {ms[len(ms) // 2]:.1f} ms, p90 {ms[int(len(ms) * 0.9)]:.1f} ms"


async def measure(bootstrap: str, waits: list[int], sends: int) -> None:
    from sangsaeng_common.kafka import KafkaOptions, make_producer

    producer = make_producer(KafkaOptions(bootstrap), "bench-latency")
    await producer.start()
    try:
        await (await producer.send(TOPIC, b"x", key=b"k"))  # creates the topic
        acked = []
        for _ in range(sends):
            started = time.perf_counter()
            await (await producer.send(TOPIC, b"x", key=b"k"))
            acked.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.01)
        print(f"send → acknowledged (acks=all): {_percentiles(acked)}")
        for wait in waits:
            consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="latest", fetch_max_wait_ms=wait)
            await consumer.start()
            try:
                await consumer.getmany(timeout_ms=1000)  # assigned and positioned at the end
                seen = []
                for _ in range(sends):
                    await asyncio.sleep(0.013)  # lands somewhere in a fetch's wait
                    started = time.perf_counter()
                    await (await producer.send(TOPIC, b"x", key=b"k"))
                    while not await consumer.getmany(timeout_ms=2000):
                        pass
                    seen.append((time.perf_counter() - started) * 1000)
                print(f"send → consumed, fetch wait {wait} ms: {_percentiles(seen)}")
            finally:
                await consumer.stop()
    finally:
        await producer.stop()


def main(waits: list[int], sends: int) -> None:
    from sangsaeng_devstack.broker import Broker

    with Broker() as broker:
        asyncio.run(measure(broker.bootstrap_servers, waits, sends))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--waits", default="25,100,500")
    parser.add_argument("--sends", type=int, default=100)
    args = parser.parse_args()
    main([int(w) for w in args.waits.split(",")], args.sends)
