"""Dead letters: a record that can never be applied (poison, or a handler failing for good)
goes to `sangsaeng.<consumer>.dlq` as it came, with its reason and origin in headers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from sangsaeng_common import metrics
from sangsaeng_common.decoding import Dead
from sangsaeng_common.kafka import KafkaOptions, make_producer
from sangsaeng_common.logging import get_logger
from sangsaeng_common.retry import Backoff

log = get_logger(__name__)


def dead_letter_headers(record: ConsumerRecord, reason: str, detail: str, consumer: str) -> list[tuple[str, bytes]]:
    """The record's own headers, then why it is dead and where it came from."""
    return list(record.headers or ()) + [
        ("dlq_reason", reason.encode()),
        ("dlq_error", detail[:4000].encode()),
        ("dlq_consumer", consumer.encode()),
        ("dlq_origin_topic", record.topic.encode()),
        ("dlq_origin_partition", str(record.partition).encode()),
        ("dlq_origin_offset", str(record.offset).encode()),
        ("dlq_time", datetime.now(UTC).isoformat().encode()),
    ]


class DeadLetters:
    """The producer of one consumer's dead-letter topic."""

    def __init__(self, kafka: KafkaOptions, consumer: str, topic: str):
        self.consumer, self.topic = consumer, topic
        self._producer = make_producer(kafka, f"{consumer}-dlq")

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, dead: list[Dead], backoff: Backoff, give_up: Callable[[], bool]) -> None:
        """Each record, until the broker takes it: a broker fault is retried with backoff
        unless `give_up()` says to stop, then it is raised (the record not yet sent)."""
        for record, reason, detail in dead:
            headers = dead_letter_headers(record, reason, detail, self.consumer)
            while True:
                try:
                    await (await self._producer.send(self.topic, key=record.key, value=record.value, headers=headers))
                    break
                except KafkaError:
                    if give_up():
                        raise
                    await asyncio.sleep(backoff.next())
            metrics.DEAD_LETTERS.labels(self.consumer, reason).inc()
            log.warning("dead-lettered", reason=reason, detail=detail[:300], topic=record.topic, partition=record.partition, offset=record.offset)
