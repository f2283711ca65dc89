"""CloudEvents 1.0 in Kafka binary content mode (the structure of Debezium's outbox).

The Kafka value is the event's JSON data; the context attributes travel as `ce_*`
headers; the key is the business id (ce_subject). Any CloudEvents SDK or plain
Kafka client can read it.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import uuid6
from pydantic import ValidationError

from sangsaeng_common.contracts import REGISTRY, UPCASTERS, Event, known_versions, parse_ce_type, source_of, upcast

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
REQUIRED_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject")
KNOWN_HEADERS = frozenset({*REQUIRED_HEADERS, "content-type", "ce_correlationid", "ce_causationid", "ce_actor", "traceparent"})


class PoisonMessage(Exception):
    """A record that can never be processed: it goes to the dead-letter topic with `reason`."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class UnknownEventType(Exception):
    """A well-formed event of a type this consumer does not know: skipped (tolerant reader)."""


def new_event_id() -> UUID:
    return uuid6.uuid7()


def new_traceparent() -> str:
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made
# building one the largest cost of decoding a consumed event. Nothing changes an envelope.
@dataclass(slots=True)
class Envelope:
    id: UUID
    source: str
    type: str
    subject: str
    time: datetime
    data: bytes
    correlation_id: str
    causation_id: str | None = None
    traceparent: str | None = None
    # CloudEvents extension `actor`: the subject id of the person (or system) on whose
    # command the event happened; events a consumer emits carry their cause's actor.
    actor: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        traceparent: str | None = None,
        actor: str | None = None,
    ) -> Envelope:
        event_id = new_event_id()
        return cls(
            id=event_id,
            source=source_of(event.producer),
            type=event.ce_type(),
            subject=event.subject(),
            time=datetime.now(UTC),
            data=event.model_dump_json().encode(),
            correlation_id=correlation_id or str(event_id),
            causation_id=causation_id,
            traceparent=traceparent or new_traceparent(),
            actor=actor,
        )

    def headers(self) -> dict[str, str]:
        headers = {
            "ce_specversion": SPECVERSION,
            "ce_id": str(self.id),
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_time": self.time.isoformat(),
            "ce_subject": self.subject,
            "content-type": CONTENT_TYPE,
            "ce_correlationid": self.correlation_id,
        }
        if self.causation_id:
            headers["ce_causationid"] = self.causation_id
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        if self.actor:
            headers["ce_actor"] = self.actor
        return headers

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v.encode()) for k, v in self.headers().items()]

    @property
    def key(self) -> bytes:
        return self.subject.encode()

    @classmethod
    def from_headers(cls, headers: dict[str, str], data: bytes) -> Envelope:
        if not all(map(headers.get, REQUIRED_HEADERS)):
            missing = [h for h in REQUIRED_HEADERS if not headers.get(h)]
            raise PoisonMessage("missing_headers", f"missing CloudEvents headers: {', '.join(missing)}")
        if headers["ce_specversion"] != SPECVERSION:
            raise PoisonMessage("unsupported_specversion", headers["ce_specversion"])
        try:
            event_id = UUID(headers["ce_id"])
            time = datetime.fromisoformat(headers["ce_time"])
        except ValueError as exc:
            raise PoisonMessage("invalid_headers", str(exc)) from exc
        return cls(
            id=event_id,
            source=headers["ce_source"],
            type=headers["ce_type"],
            subject=headers["ce_subject"],
            time=time,
            data=data,
            correlation_id=headers.get("ce_correlationid") or str(event_id),
            causation_id=headers.get("ce_causationid"),
            traceparent=headers.get("traceparent"),
            actor=headers.get("ce_actor"),
            extra_headers={} if headers.keys() <= KNOWN_HEADERS else {k: v for k, v in headers.items() if k not in KNOWN_HEADERS},
        )

    @classmethod
    def from_kafka(cls, raw_headers: list[tuple[str, bytes]] | tuple, value: bytes | None) -> Envelope:
        try:
            headers = {k: v.decode() for k, v in raw_headers or ()}
        except UnicodeDecodeError as exc:
            raise PoisonMessage("undecodable_headers", str(exc)) from exc
        return cls.from_headers(headers, value or b"")

    def decode(self, topic: str | None = None) -> Event:
        """The typed event, upcast to its newest version. Raises UnknownEventType (skip) or
        PoisonMessage (dead-letter).

        Whatever the type, the envelope must be one its producer could have written:
        a source that is the producer named by the type, on that producer's own topic
        (a service writes only its own topic, so anything else is forged or misrouted),
        and data that is a JSON document of sane size. Only then is an unknown type
        skipped (or kept whole by a ledger); a known type must validate."""
        producer, name = _producer_of(self.type, self.source, topic)
        if len(self.data) > MAX_EVENT_BYTES:
            raise PoisonMessage("too_large", f"{len(self.data)} bytes of data; at most {MAX_EVENT_BYTES}")
        contract_cls = REGISTRY.get(self.type)
        if contract_cls is not None and _plainly_storable(self.data):
            # The common case, in one pass: pydantic parses and validates the bytes at once
            # (about a quarter of json.loads + model_validate), and the raw bytes have
            # shown that whatever this document holds, also in fields the contract ignores,
            # is storable. Only a valid JSON document gets through either check.
            event = _validated(contract_cls.model_validate_json, self.data)
        else:
            try:
                payload = json.loads(self.data)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # RecursionError: [[[[...
                raise PoisonMessage("undecodable_data", repr(exc)) from exc
            if (problem := _unstorable(payload)) is not None:
                raise PoisonMessage("unstorable_value", problem)
            if contract_cls is None:
                # A known event at a version this build does not know is a breaking change by
                # definition (a compatible one would have kept the version): reading it by the old
                # contract would misread it and skipping it would lose its effect silently, so it
                # is dead-lettered, kept for a replay once the consumer knows that version. A type
                # never heard of is the tolerant reader's case: skipped and counted.
                if known_versions(producer, name):
                    raise PoisonMessage("unsupported_version", f"{self.type}; known versions {known_versions(producer, name)}")
                raise UnknownEventType(self.type)
            event = _validated(contract_cls.model_validate, payload)
        if event.subject() != self.subject:
            raise PoisonMessage("subject_mismatch", f"ce_subject {self.subject!r} != data {event.subject()!r}")
        # An older version reaches handlers as the newest reads it (the record, and the
        # envelope's type and data, stay as they were published).
        # (A type with no upcaster is its contract's own: nothing to walk.)
        return upcast(event) if self.type in UPCASTERS else event


@functools.lru_cache(maxsize=1024)
def _producer_of(ce_type: str, source: str, topic: str | None) -> tuple[str, str]:
    """(producer, name) of a type its source and topic could carry: a pure function of the
    three strings, worked out once per combination rather than once per event (a consumer
    sees a handful). Raises PoisonMessage as `decode` does; a raise is not cached."""
    parsed = parse_ce_type(ce_type)
    if parsed is None:
        raise PoisonMessage("invalid_type", f"ce_type {ce_type!r} is not sangsaeng.<service>.<Name>.v<N>")
    producer, name, _version = parsed
    if source != source_of(producer) or (topic and topic.startswith("sangsaeng.") and topic.endswith(".events") and topic != f"sangsaeng.{producer}.events"):
        raise PoisonMessage("wrong_source", f"{ce_type} from {source!r} on topic {topic!r}")
    return producer, name


def _validated(validate: Callable[[Any], Event], data: object) -> Event:
    try:
        return validate(data)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise PoisonMessage("undecodable_data", exc.json(include_url=False, include_input=False)) from exc
        raise PoisonMessage("schema_invalid", exc.json(include_url=False)) from exc


# No contract's data comes near this (a visit record with twenty follow-ups is ~10 KB): a
# bigger record is hostile, and would bloat every consumer's tables and the ledger forever.
MAX_EVENT_BYTES = 256 * 1024
_INT64 = range(-(2**63), 2**63)


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONGEST_INT64 = 19  # digits


def _plainly_storable(data: bytes) -> bool:
    """What `_unstorable` would find in the parsed document, ruled out from the raw bytes
    (a fifth of the cost of parsing, nothing to walk), for any valid JSON document: a NUL
    can only be written as the escape \\u0000 (a raw one is invalid JSON); an integer
    beyond 64 bits needs a run of at least 19 digits; nesting deeper than 64 levels needs
    more than 64 brackets. Any of them in the bytes, in a string or not, means: parse and
    walk the document to be sure."""
    return (
        b"\\u0000" not in data
        and b"0" * _LONGEST_INT64 not in data.translate(_DIGITS_AS_ZERO)
        and data.count(b"{") + data.count(b"[") <= 64
    )


def _unstorable(value: object, depth: int = 0) -> str | None:
    """What no consumer could store: an integer beyond 64 bits (no column holds it, and
    many JSON readers would round it) or a NUL character (PostgreSQL text refuses it)."""
    if depth > 64:
        return "nested more than 64 levels deep"
    if isinstance(value, str):
        return "a string holding a NUL character" if "\x00" in value else None
    if isinstance(value, int) and not isinstance(value, bool):
        return None if value in _INT64 else f"{value} does not fit in 64 bits"
    children = [*value.keys(), *value.values()] if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        if (problem := _unstorable(child, depth + 1)) is not None:
            return problem
    return None
