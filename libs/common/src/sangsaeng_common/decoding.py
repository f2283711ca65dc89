"""From a partition's Kafka records to the events to apply (each with its handler) and
the poison to dead-letter, the same live and in a replay."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.structs import ConsumerRecord

from sangsaeng_common import metrics
from sangsaeng_common.contracts import Event
from sangsaeng_common.envelope import Envelope, PoisonMessage, UnknownEventType
from sangsaeng_common.handlers import Handler, Handlers


@dataclass
class Decoded:
    record: ConsumerRecord
    envelope: Envelope
    event: Event | None
    handler: Handler
    batched: bool = False


Dead = tuple[ConsumerRecord, str, str]  # the record, the reason, the detail


def decode_records(handlers: Handlers, records: list[ConsumerRecord]) -> tuple[list[Decoded], list[Dead]]:
    """Split a partition's records into events to apply and poison to dead-letter;
    unknown and unhandled types are counted and skipped."""
    decoded: list[Decoded] = []
    dead: list[Dead] = []
    for record in records:
        try:
            envelope = Envelope.from_kafka(record.headers, record.value)
            event = envelope.decode(record.topic)
        except UnknownEventType as exc:
            if handlers.fallback is not None and handlers.keep_unknown_types:
                decoded.append(Decoded(record, envelope, None, handlers.fallback, handlers.fallback in handlers.batched))
            else:
                metrics.EVENTS_CONSUMED.labels(handlers.consumer, str(exc), "unknown_type").inc()
            continue
        except PoisonMessage as poison:
            dead.append((record, poison.reason, poison.detail))
            continue
        except Exception as exc:  # noqa: BLE001 - decoding touches no I/O: whatever it raises, the
            # record is at fault, and raising would restart the consumer on it for ever
            dead.append((record, "undecodable", repr(exc)))
            continue
        handler = handlers.by_type.get(type(event)) or handlers.fallback
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(handlers.consumer, envelope.type, "not_handled").inc()
            continue
        decoded.append(Decoded(record, envelope, event, handler, handler in handlers.batched))
    return decoded, dead
