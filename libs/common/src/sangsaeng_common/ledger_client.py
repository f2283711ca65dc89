"""Reading the audit ledger over its read-only HTTP API (`GET /events`, JSON lines in ledger
order), as Kafka records again, so a service can rebuild its read models from the ledger
through the very decode/apply path its consumers run. Services never import audit: they
only speak its published HTTP interface, with an auditor's token."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx
from aiokafka.structs import ConsumerRecord


@dataclass(frozen=True)
class LedgerSource:
    url: str  # the audit service, e.g. http://127.0.0.1:8005
    token: str  # an auditor's bearer token

    def __repr__(self) -> str:  # never print the token
        return f"LedgerSource(url={self.url!r})"


class LedgerUnavailable(RuntimeError):
    pass


def record_of(event: dict) -> ConsumerRecord:
    """The Kafka record the ledger recorded: same topic, partition, offset, headers and key
    (the subject), and the data as the value."""
    value = json.dumps(event["data"], ensure_ascii=False).encode()
    key = event["subject"].encode()
    return ConsumerRecord(
        topic=event["topic"], partition=event["partition"], offset=event["offset"], timestamp=-1, timestamp_type=0,
        key=key, value=value, checksum=None, serialized_key_size=len(key), serialized_value_size=len(value),
        headers=[(k, v.encode()) for k, v in event["headers"].items()],
    )


async def ledger_batches(
    source: LedgerSource, topics: Sequence[str] | None = None, topic_pattern: str | None = None, batch: int = 2000
) -> AsyncIterator[tuple[int, list[ConsumerRecord]]]:
    """(events the ledger holds for these topics, the next batch of them in ledger order)."""
    params = [("topic", t) for t in topics or ()]
    pattern = re.compile(topic_pattern) if topic_pattern else None
    headers = {"Authorization": f"Bearer {source.token}"}
    try:
        async with httpx.AsyncClient(base_url=source.url, timeout=httpx.Timeout(60.0)) as client:
            async with client.stream("GET", "/events", params=params, headers=headers) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise LedgerUnavailable(f"the ledger at {source.url} answered {response.status_code}: {response.text[:300]}")
                total = int(response.headers.get("Event-Count", 0))
                records: list[ConsumerRecord] = []
                async for line in response.aiter_lines():
                    if not line:
                        continue
                    event = json.loads(line)
                    if pattern is None or pattern.match(event["topic"]):
                        records.append(record_of(event))
                    if len(records) >= batch:
                        yield total, records
                        records = []
                yield total, records
    except httpx.HTTPError as exc:  # unreachable, reset, timed out: the caller answers 502, not 500
        raise LedgerUnavailable(f"the ledger at {source.url} did not answer: {exc!r}") from exc
