import json
import uuid
from datetime import date

from sangsaeng_common.contracts.intake import BusinessRegistered, Stage
from sangsaeng_common.envelope import Envelope


def _event() -> BusinessRegistered:
    return BusinessRegistered(
        business_id=uuid.uuid4(), registration_number="2208162517", name="동대문 바른분식", dong="제기동",
        industry="음식점업", employees=2, is_micro_business=True, stage=Stage.operating, registered_on=date(2023, 3, 2),
    )


def test_the_actor_travels_as_the_ce_actor_extension_attribute():
    envelope = Envelope.wrap(_event(), actor="S-1001")
    headers = dict(envelope.kafka_headers())
    assert headers["ce_actor"] == b"S-1001"
    decoded = Envelope.from_kafka(envelope.kafka_headers(), envelope.data)
    assert decoded.actor == "S-1001"
    assert "ce_actor" not in decoded.extra_headers  # a known attribute, not an unknown header kept aside


def test_an_event_without_an_actor_has_no_header_and_decodes_to_none():
    envelope = Envelope.wrap(_event())
    assert "ce_actor" not in dict(envelope.kafka_headers())
    assert Envelope.from_kafka(envelope.kafka_headers(), envelope.data).actor is None


def _record(envelope: Envelope):
    from aiokafka.structs import ConsumerRecord

    return ConsumerRecord(topic="sangsaeng.intake.events", partition=0, offset=7, timestamp=-1, timestamp_type=0, key=envelope.key,
                          value=envelope.data, checksum=None, serialized_key_size=0, serialized_value_size=0,
                          headers=envelope.kafka_headers())


def test_a_replay_from_the_ledger_and_a_dead_letter_keep_the_actor():
    from sangsaeng_common.dead_letters import dead_letter_headers
    from sangsaeng_common.recorded_events_feed import record_of

    envelope = Envelope.wrap(_event(), actor="P-2001")
    # the ledger's /events line (its headers as recorded), replayed as the record it was
    line = {"topic": "sangsaeng.intake.events", "partition": 0, "offset": 7, "subject": envelope.subject,
            "headers": envelope.headers(), "data": json.loads(envelope.data)}
    replayed = record_of(line)
    assert Envelope.from_kafka(replayed.headers, replayed.value).actor == "P-2001"
    # a dead letter carries the record's headers (its redrive sends them again), the actor among them
    assert ("ce_actor", b"P-2001") in dead_letter_headers(_record(envelope), "handler_failed", "boom", "visits")
