"""Dead letters without servers: the handler failpoint, which keys a batch parks, the
order a redrive applies a key's open rows in, the operator's requests, the discard event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from sangsaeng_common import failpoints
from sangsaeng_common.contracts import REGISTRY
from sangsaeng_common.contracts.operations import CONSUMING_SERVICES, DiscardReason, dead_letter_discarded
from sangsaeng_common.dead_letters import Blocking, _chains, _text, dead_letter_headers, record_of
from sangsaeng_common.envelope import Envelope
from sangsaeng_common.ops_routes import DiscardRequest, RedriveRequest


def _record(key: bytes | None, offset: int, partition: int = 0) -> ConsumerRecord:
    return ConsumerRecord("sangsaeng.intake.events", partition, offset, 0, 0, key, b"{}", None, 0, 2, (("ce_id", b"x"),))


def test_the_handler_failpoint_fails_only_the_configured_events():
    business = str(uuid.uuid4())
    try:
        failpoints.configure(f"handler=fail:sangsaeng.intake.BusinessStageChanged.v1|{business}")
        assert failpoints.failing("handler")
        with pytest.raises(failpoints.FailpointError):
            failpoints.fail_for("handler", "sangsaeng.intake.BusinessStageChanged.v1", "some-id", business)
        failpoints.fail_for("handler", "sangsaeng.intake.BusinessStageChanged.v1", "some-id", str(uuid.uuid4()))  # another business
        failpoints.fail_for("handler", "sangsaeng.intake.BusinessRegistered.v1", "some-id", business)  # another type
        failpoints.configure("relay.after_publish=kill")
        assert not failpoints.failing("handler")
        failpoints.fail_for("handler", "anything")
    finally:
        failpoints.configure("")


def test_a_blocked_key_holds_its_events_and_only_those():
    blocking = Blocking(keys={b"a"}, dead={("sangsaeng.intake.events", 0, 3): "boom"})
    batch = [SimpleNamespace(record=_record(k, o)) for k, o in [(b"a", 3), (b"b", 4), (b"a", 5), (None, 6)]]
    held, rest = blocking.split(batch)
    assert [i.record.offset for i in held] == [3, 5] and [i.record.offset for i in rest] == [4, 6]
    assert blocking.is_dead_letter(held[0]) and blocking.error_of(held[0]) == "boom"
    assert not blocking.is_dead_letter(held[1])  # a later event: parked, not dead
    blocking.block(None)
    assert not blocking.holds(None) and not Blocking()  # no key, nothing held


def _row(id_: int, key: bytes | None, offset: int, status: str = "dead", parks: bool = True) -> dict:
    return {"id": id_, "record_key": key, "parks_key": parks, "topic": "sangsaeng.intake.events", "kafka_partition": 0,
            "kafka_offset": offset, "status": status}


def test_a_redrive_applies_a_key_from_its_earliest_open_row_in_partition_order():
    locked = [_row(1, b"a", 10), _row(2, b"b", 11), _row(3, b"a", 14, "parked"), _row(4, b"a", 12, "parked"),
              _row(5, b"x", 13, parks=False), _row(6, b"c", 20, "parked")]
    chains = _chains(locked, wanted={1, 2, 5})
    as_ids = sorted([r["id"] for r in chain] for chain in chains)
    assert as_ids == [[1, 4, 3], [2], [5]]  # a: the dead one, then its parked events by offset; c's dead letter not asked for
    assert _chains(locked, wanted={4}) == []  # a parked event is not redriven ahead of its dead letter


def test_a_stored_record_comes_back_as_the_consumer_read_it():
    row = {"topic": "sangsaeng.intake.events", "kafka_partition": 2, "kafka_offset": 7, "kafka_timestamp": 1234, "record_key": b"k",
           "record_value": b"{\"a\": 1}", "header_keys": ["ce_id", "x-note"], "header_values": [b"1", b"\xff"]}
    record = record_of(row)
    assert (record.topic, record.partition, record.offset, record.key, record.value) == ("sangsaeng.intake.events", 2, 7, b"k", b"{\"a\": 1}")
    assert list(record.headers) == [("ce_id", b"1"), ("x-note", b"\xff")]
    headers = dict(dead_letter_headers(record, "handler_error", "boom", "visits", attempt=3))
    assert headers["dlq_attempt"] == b"3" and headers["dlq_origin_offset"] == b"7" and headers["dlq_consumer"] == b"visits"
    assert _text("a\x00b") == "a\\x00b"  # PostgreSQL text holds no NUL


def test_the_operator_names_what_to_redrive_and_why_to_discard():
    assert RedriveRequest(all=True).all and RedriveRequest(ids=[1, 2]).ids == [1, 2] and RedriveRequest(reason="handler_error").reason
    for wrong in ({}, {"ids": [1], "all": True}, {"ids": [1], "reason": "x"}, {"ids": []}):
        with pytest.raises(ValidationError):
            RedriveRequest(**wrong)
    assert DiscardRequest(reason="superseded").reason is DiscardReason.superseded
    with pytest.raises(ValidationError):
        DiscardRequest(reason="because I said so")


def test_every_consuming_service_has_its_discard_contract_keyed_by_the_business():
    for service in CONSUMING_SERVICES:
        contract = dead_letter_discarded(service)
        assert REGISTRY[f"sangsaeng.{service}.DeadLetterDiscarded.v1"] is contract
    business = uuid.uuid4()
    event = dead_letter_discarded("visits")(
        dead_letter_id=1, consumer="visits", dead_letter_reason="handler_error", origin_topic="sangsaeng.intake.events",
        origin_partition=0, origin_offset=3, business_id=business, attempts=1, discard_reason=DiscardReason.duplicate,
        discarded_by="operator", discarded_at=datetime.now(UTC))
    envelope = Envelope.wrap(event)
    assert envelope.subject == str(business) and envelope.source == "/sangsaeng/visits"
    assert Envelope.from_kafka(envelope.kafka_headers(), envelope.data).decode("sangsaeng.visits.events") == event
    keyless = event.model_copy(update={"business_id": None})
    assert keyless.subject() == "visits.dlq"  # poison with no business key
