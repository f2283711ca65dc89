"""A feed of recorded events over HTTP, as Kafka records again: a replay source (see
event_sources.py) for a service that rebuilds its read models from a record of every
event rather than from the broker, through the very decode/apply path its consumers run.

The wire format, which any service may serve (libs/common knows none of them):

    GET {url}/events?topic=<topic>&topic=<topic>...      Authorization: Bearer <token>

answers 200 with `Event-Count: <events that follow>` and JSON lines (application/x-ndjson),
one recorded event each, in the order recorded (each partition's events in their order):

    {"topic": "sangsaeng.<service>.events", "partition": 3, "offset": 41,
     "subject": "<the Kafka key>", "headers": {"ce_id": "...", "ce_type": "...", ...},
     "data": {...the event's JSON...}}

Other members are ignored. Without `topic` parameters it answers every topic; a consumer
with a topic pattern filters the lines itself. Any other status is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence

import httpx
from aiokafka.structs import ConsumerRecord

from sangsaeng_common.event_sources import Poll
from sangsaeng_common.handlers import Handlers


class FeedUnavailable(RuntimeError):
    """The feed is not configured, did not answer, or refused."""


def record_of(event: dict) -> ConsumerRecord:
    """The Kafka record that was recorded: same topic, partition, offset, headers and key
    (the subject), and the data as the value."""
    value = json.dumps(event["data"], ensure_ascii=False).encode()
    key = event["subject"].encode()
    return ConsumerRecord(
        topic=event["topic"], partition=event["partition"], offset=event["offset"], timestamp=-1, timestamp_type=0,
        key=key, value=value, checksum=None, serialized_key_size=len(key), serialized_value_size=len(value),
        headers=[(k, v.encode()) for k, v in event["headers"].items()],
    )


def by_partition(records: list[ConsumerRecord]) -> list[list[ConsumerRecord]]:
    """A batch's records, split per partition, each partition's in the order given."""
    partitions: dict[tuple[str, int], list[ConsumerRecord]] = {}
    for record in records:
        partitions.setdefault((record.topic, record.partition), []).append(record)
    return list(partitions.values())


class RecordedEventsFeed:
    def __init__(self, url: str | None, token: str, *, batch: int = 2000, transport: httpx.AsyncBaseTransport | None = None):
        self.url = url
        self.token = token
        self.batch = batch
        self._transport = transport

    def __repr__(self) -> str:  # never print the token
        return f"RecordedEventsFeed(url={self.url!r})"

    async def polls(self, handlers: Handlers) -> AsyncIterator[Poll]:
        async for total, records in self.batches(handlers.topics, handlers.topic_pattern):
            yield total, by_partition(records)

    async def batches(self, topics: Sequence[str] | None = None, topic_pattern: str | None = None) -> AsyncIterator[tuple[int, list[ConsumerRecord]]]:
        """(events the feed holds for these topics, the next batch of them in recorded order)."""
        if not self.url:
            raise FeedUnavailable("no recorded events feed is configured (EVENTS_FEED_URL)")
        params = [("topic", t) for t in topics or ()]
        pattern = re.compile(topic_pattern) if topic_pattern else None
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with httpx.AsyncClient(base_url=self.url, timeout=httpx.Timeout(60.0), transport=self._transport) as client:
                async with client.stream("GET", "/events", params=params, headers=headers) as response:
                    if response.status_code != 200:
                        await response.aread()
                        raise FeedUnavailable(f"the feed at {self.url} answered {response.status_code}: {response.text[:300]}")
                    total = int(response.headers.get("Event-Count", 0))
                    records: list[ConsumerRecord] = []
                    async for line in response.aiter_lines():
                        if not line:
                            continue
                        event = json.loads(line)
                        if pattern is None or pattern.match(event["topic"]):
                            records.append(record_of(event))
                        if len(records) >= self.batch:
                            yield total, records
                            records = []
                    yield total, records
        except httpx.HTTPError as exc:  # unreachable, reset, timed out: the caller answers 502, not 500
            raise FeedUnavailable(f"the feed at {self.url} did not answer: {exc!r}") from exc
