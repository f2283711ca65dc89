"""Where a replay reads a consumer's events again: the port, and its Kafka adapter.

A source yields polls, as a live consumer gets them: `(events known so far, [each
partition's records of this poll, in that partition's order])`. Order is promised only
within a partition (per key), so that is all a source must keep. Two adapters:

- `KafkaEvents`: every topic of the consumer, from offset zero, until caught up;
- `RecordedEventsFeed` (recorded_events_feed.py): a feed of recorded events over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from sangsaeng_common.handlers import Handlers
from sangsaeng_common.kafka import KafkaOptions

Poll = tuple[int, list[list[ConsumerRecord]]]  # (events known so far, each partition's records)


class EventSource(Protocol):
    def polls(self, handlers: Handlers) -> AsyncIterator[Poll]:
        """Every event of the consumer's topics (or topic pattern), poll by poll."""
        ...


class KafkaEvents:
    def __init__(self, kafka: KafkaOptions, *, max_records: int = 2000, idle_polls: int = 10):
        self.kafka = kafka
        self.max_records = max_records
        self.idle_polls = idle_polls

    async def _topics(self, handlers: Handlers) -> list[str]:
        if not handlers.topic_pattern:
            return handlers.topics
        consumer = AIOKafkaConsumer(**self.kafka.client_kwargs(), enable_auto_commit=False)
        await consumer.start()
        try:
            pattern = re.compile(handlers.topic_pattern)
            return sorted(t for t in await consumer.topics() if pattern.match(t))
        finally:
            await consumer.stop()

    async def polls(self, handlers: Handlers) -> AsyncIterator[Poll]:
        topics = await self._topics(handlers)
        if not topics:
            return
        consumer = AIOKafkaConsumer(**self.kafka.client_kwargs(), enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
            if not tps:
                return
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            idle_polls = 0
            while True:
                batches = await consumer.getmany(timeout_ms=300, max_records=self.max_records)
                yield sum(consumer.highwater(tp) or 0 for tp in tps), list(batches.values())
                # Caught up is judged by the highwater a fetch returned, never end_offsets():
                # the development broker under-reports ListOffsets.
                positions = [await consumer.position(tp) for tp in tps]
                caught_up = all(consumer.highwater(tp) is not None and pos >= consumer.highwater(tp) for tp, pos in zip(tps, positions))
                idle_polls = 0 if batches else idle_polls + 1
                if caught_up or idle_polls >= self.idle_polls:
                    return
        finally:
            await consumer.stop()
