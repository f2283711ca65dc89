"""The hash chain, in one place, so auditors can re-implement it:

    hash(n) = SHA-256 hex of  prev_hash(n) + "\n" + canonical JSON of
              {"event_id", "topic", "partition", "offset", "headers", "data"}

where prev_hash(1) is 64 zeros, `headers` are the Kafka headers as a JSON object of
strings, `data` is the Kafka value as received (a UTF-8 string), and canonical JSON has
sorted keys, no insignificant whitespace and unescaped non-ASCII (UTF-8).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class LinkInput:
    event_id: str
    topic: str
    partition: int
    offset: int
    headers: dict[str, str]
    data_text: str

    def canonical(self) -> bytes:
        return canonical_json(
            {
                "event_id": self.event_id,
                "topic": self.topic,
                "partition": self.partition,
                "offset": self.offset,
                "headers": self.headers,
                "data": self.data_text,
            }
        )


def link(prev_hash: str, entry: LinkInput) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + entry.canonical()).hexdigest()


@dataclass(frozen=True)
class StoredLink:
    position: int
    entry: LinkInput
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Break:
    position: int
    event_id: str
    reason: str


class ChainWalker:
    """Checks links one at a time, in position order, so a long chain streams through."""

    def __init__(self) -> None:
        self.expected_prev, self.expected_position, self.checked = GENESIS, 1, 0

    def check(self, stored: StoredLink) -> Break | None:
        self.checked += 1
        if stored.position != self.expected_position:
            return Break(stored.position, stored.entry.event_id, f"position {self.expected_position} is missing")
        if stored.prev_hash != self.expected_prev:
            return Break(stored.position, stored.entry.event_id, "prev_hash does not match the previous link")
        if link(stored.prev_hash, stored.entry) != stored.hash:
            return Break(stored.position, stored.entry.event_id, "content does not match its hash")
        self.expected_prev, self.expected_position = stored.hash, self.expected_position + 1
        return None


def first_break(links: Iterable[StoredLink]) -> tuple[int, Break | None]:
    """Walk the chain in position order; return (links checked, the first broken link or None)."""
    walker = ChainWalker()
    for stored in links:
        if (broken := walker.check(stored)) is not None:
            return walker.checked, broken
    return walker.checked, None
