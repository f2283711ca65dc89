import json
import uuid
from datetime import date

import pytest

from sangsaeng_common.contracts.intake import BusinessRegistered, Stage
from sangsaeng_common.envelope import Envelope, PoisonMessage, UnknownEventType


def _event(**changes):
    fields = dict(
        business_id=uuid.uuid4(), registration_number="2208162517", name="동대문 바른분식", dong="제기동",
        industry="음식점업", employees=2, is_micro_business=True, stage=Stage.operating, registered_on=date(2023, 3, 2),
    )
    return BusinessRegistered(**{**fields, **changes})


def test_binary_mode_headers_and_round_trip():
    event = _event()
    envelope = Envelope.wrap(event, correlation_id="corr-1", causation_id="cause-1")
    headers = dict(envelope.kafka_headers())
    assert headers[b"ce_specversion".decode()] == b"1.0"
    assert headers["ce_type"] == b"sangsaeng.intake.BusinessRegistered.v1"
    assert headers["ce_source"] == b"/sangsaeng/intake"
    assert headers["ce_subject"] == str(event.business_id).encode()
    assert headers["content-type"] == b"application/json"
    assert headers["ce_correlationid"] == b"corr-1" and headers["ce_causationid"] == b"cause-1"
    assert headers["traceparent"].startswith(b"00-")
    assert uuid.UUID(headers["ce_id"].decode()).version == 7  # time-ordered
    assert envelope.key == str(event.business_id).encode()
    assert json.loads(envelope.data)["name"] == "동대문 바른분식"  # the value is the event's JSON data

    decoded = Envelope.from_kafka(envelope.kafka_headers(), envelope.data)
    assert decoded.id == envelope.id and decoded.decode("sangsaeng.intake.events") == event


def _kafka(envelope, **header_changes):
    headers = {**envelope.headers(), **header_changes}
    return [(k, v.encode()) for k, v in headers.items() if v is not None]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ce_id": None}, "missing_headers"),
        ({"ce_specversion": "0.3"}, "unsupported_specversion"),
        ({"ce_time": "yesterday"}, "invalid_headers"),
        ({"ce_type": "BusinessRegistered"}, "invalid_type"),
        ({"ce_type": "sangsaeng.intake.BusinessRegistered.v9"}, "unsupported_version"),
        ({"ce_source": "/sangsaeng/loans"}, "wrong_source"),
        ({"ce_subject": "someone-else"}, "subject_mismatch"),
    ],
)
def test_poison_headers_are_named(change, reason):
    envelope = Envelope.wrap(_event())
    with pytest.raises(PoisonMessage) as poison:
        Envelope.from_kafka(_kafka(envelope, **change), envelope.data).decode("sangsaeng.intake.events")
    assert poison.value.reason == reason


def test_event_on_another_services_topic_is_poison():
    envelope = Envelope.wrap(_event())
    with pytest.raises(PoisonMessage) as poison:
        Envelope.from_kafka(envelope.kafka_headers(), envelope.data).decode("sangsaeng.loans.events")
    assert poison.value.reason == "wrong_source"


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"\xff\xfe garbage", "undecodable_data"), (b'{"business_id": 5}', "schema_invalid"), (b"[]", "schema_invalid")],
)
def test_poison_data_is_named(data, reason):
    envelope = Envelope.wrap(_event())
    with pytest.raises(PoisonMessage) as poison:
        Envelope.from_kafka(envelope.kafka_headers(), data).decode()
    assert poison.value.reason == reason


def test_unknown_event_type_is_skipped_not_poison():
    envelope = Envelope.wrap(_event())
    headers = _kafka(envelope, ce_type="sangsaeng.intake.SomethingNew.v1")
    with pytest.raises(UnknownEventType):
        Envelope.from_kafka(headers, envelope.data).decode()


def test_unknown_fields_are_ignored_by_a_tolerant_reader():
    event = _event()
    data = json.dumps({**json.loads(event.model_dump_json()), "added_later": 1}).encode()
    envelope = Envelope.wrap(event)
    assert Envelope.from_kafka(envelope.kafka_headers(), data).decode() == event


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("ignored_field", "reason"),
    [
        # What no consumer can store is refused wherever it is, also in a field the contract
        # ignores (the ledger keeps the whole document) ...
        (10**30, "unstorable_value"),
        (-(2**63) - 1, "unstorable_value"),
        ("제기\x00동", "unstorable_value"),
        (_nested(65), "unstorable_value"),
        # ... and what only looks like it in the raw bytes is read as usual.
        (2**63 - 1, None),
        ("1234567890123456789012345", None),
        ("a backslash then u0000: \\u0000", None),
        (_nested(60), None),
        ({"brackets in text": "[" * 100}, None),
    ],
)
def test_unstorable_values_are_poison_in_any_field(ignored_field, reason):
    event = _event()
    data = json.dumps({**json.loads(event.model_dump_json()), "added_later": ignored_field}).encode()
    decoded = Envelope.from_kafka(Envelope.wrap(event).kafka_headers(), data)
    if reason is None:
        assert decoded.decode() == event
    else:
        with pytest.raises(PoisonMessage) as poison:
            decoded.decode()
        assert poison.value.reason == reason


@pytest.mark.parametrize("data", [b'{"business_id": "x", ', b'{"a": "x\x00y"}', b'{"name": "\xff"}', b"\xef\xbb\xbf{}"])
def test_data_that_is_not_json_is_undecodable(data):
    envelope = Envelope.wrap(_event())
    with pytest.raises(PoisonMessage) as poison:
        Envelope.from_kafka(envelope.kafka_headers(), data).decode()
    assert poison.value.reason == "undecodable_data"
