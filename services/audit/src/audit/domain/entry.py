"""A ledger entry's bytes: one consumed Kafka record, whole, as RFC 8785 (JCS) canonical JSON.

    {"headers": [[name, base64 value], ...], "key": base64 | null, "offset": int,
     "partition": int, "topic": str, "value": base64 | null}

Headers keep the order they had on the record (a header may repeat; a header without a value
is `[name, null]`). Key and value are base64 (RFC 4648 §4, padded) of the record's bytes, so
nothing is re-encoded; null only where the record had none. The exact format, for auditors,
is contracts/ledger.md; these bytes are what the Merkle tree hashes (audit.domain.merkle).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import rfc8785


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text, validate=True)


@dataclass(frozen=True, slots=True)
class Entry:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    value: bytes | None

    def to_bytes(self) -> bytes:
        return rfc8785.dumps(
            {
                "topic": self.topic,
                "partition": self.partition,
                "offset": self.offset,
                "key": _b64(self.key),
                "headers": [[name, _b64(value)] for name, value in self.headers],
                "value": _b64(self.value),
            }
        )

    def header(self, name: str) -> str | None:
        """The first header of that name, as text (CloudEvents headers are UTF-8)."""
        for header, value in self.headers:
            if header == name and value is not None:
                return value.decode("utf-8", "replace")
        return None

    @classmethod
    def from_bytes(cls, raw: bytes) -> Entry:
        """Parse an entry; ValueError if it is not one (or not canonical: its bytes must be
        exactly what `to_bytes` makes of what they say)."""
        try:
            obj = json.loads(raw)
            if set(obj) != {"topic", "partition", "offset", "key", "headers", "value"}:
                raise ValueError(f"fields {sorted(obj)}")
            entry = cls(
                topic=obj["topic"],
                partition=int(obj["partition"]),
                offset=int(obj["offset"]),
                key=_unb64(obj["key"]),
                headers=tuple((str(name), _unb64(value)) for name, value in obj["headers"]),
                value=_unb64(obj["value"]),
            )
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError, base64.binascii.Error) as exc:
            raise ValueError(f"not a ledger entry: {exc}") from None
        if entry.to_bytes() != raw:
            raise ValueError("not a ledger entry: not in RFC 8785 canonical form")
        return entry
