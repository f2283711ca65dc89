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
