"""An event log to consume, and the raw baseline of consuming it, for the consumer and
replay benchmarks: intake's topic filled with registrations and stage changes exactly as
intake's relay would write them, and plain aiokafka + json.loads over the same records."""

from __future__ import annotations

import asyncio
import json
import resource
import time
import uuid
from dataclasses import dataclass
from datetime import date

from aiokafka import AIOKafkaConsumer, TopicPartition

from sangsaeng_common.contracts.intake import BusinessRegistered, BusinessStageChanged, Stage
from sangsaeng_common.envelope import Envelope
from sangsaeng_common.kafka import ensure_topics, make_producer

TOPIC = BusinessRegistered.topic()
PARTITIONS = 6
DONGS = ["제기동", "회기동", "청량리동", "용신동", "전농1동"]
CHANGES = [(Stage.operating, Stage.closing), (Stage.closing, Stage.operating)]


def events_for(businesses: int) -> list[BusinessRegistered | BusinessStageChanged]:
    """Each business registered, then moved operating → closing → operating: 3 events each."""
    events: list[BusinessRegistered | BusinessStageChanged] = []
    for i in range(businesses):
        business = uuid.UUID(int=i + 1)
        events.append(BusinessRegistered(business_id=business, registration_number=f"{i:010d}", name=f"가게 {i}",
                                         dong=DONGS[i % len(DONGS)], industry="음식점업", employees=2,
                                         is_micro_business=True, stage=Stage.operating, registered_on=date(2023, 3, 2)))
        for n, (was, now) in enumerate(CHANGES):
            events.append(BusinessStageChanged(business_id=business, from_stage=was, to_stage=now, changed_on=date(2025, 1, 2 + n)))
    return events


async def fill_topic(bootstrap: str, businesses: int) -> int:
    """Publish 3 × `businesses` events on intake's topic, keyed by business; returns the count."""
    await ensure_topics(bootstrap, {TOPIC: PARTITIONS})
    producer = make_producer(bootstrap, "bench-fill")
    await producer.start()
    try:
        events = events_for(businesses)
        pending = []
        for event in events:
            envelope = Envelope.wrap(event)
            pending.append(await producer.send(TOPIC, key=envelope.key, value=envelope.data, headers=envelope.kafka_headers()))
        await asyncio.gather(*pending)
        return len(events)
    finally:
        await producer.stop()


@dataclass(frozen=True)
class Rate:
    events: int
    seconds: float
    cpu_seconds: float  # this process's CPU over the same span

    @property
    def per_second(self) -> float:
        return self.events / self.seconds

    def describe(self) -> str:
        return f"{self.per_second:,.0f} events/s ({self.cpu_seconds / self.events * 1e6:,.0f} µs CPU/event here)"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def raw_consume(bootstrap: str, expected: int, runs: int = 3) -> Rate:
    """Plain aiokafka from offset zero, every value through json.loads: the machine's limit.
    The fastest of `runs` (one run alone varied by almost 2× between runs of the bench)."""
    rates = [await _raw_consume_once(bootstrap, expected) for _ in range(runs)]
    return max(rates, key=lambda rate: rate.per_second)


async def _raw_consume_once(bootstrap: str, expected: int) -> Rate:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(TOPIC, p) for p in sorted(consumer.partitions_for_topic(TOPIC) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        count, started, cpu_started = 0, time.perf_counter(), cpu()
        while count < expected:
            for records in (await consumer.getmany(timeout_ms=500, max_records=2000)).values():
                for record in records:
                    json.loads(record.value)
                count += len(records)
        return Rate(count, time.perf_counter() - started, cpu() - cpu_started)
    finally:
        await consumer.stop()
