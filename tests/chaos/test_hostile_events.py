"""Hostile events: records no service would ever write, published straight to every
events topic, between valid events of the same business (same key, same partition).

Every consumer of a topic (each service's own, intake's timeline and audit's ledger, both
subscribed by pattern) must dead-letter each hostile record to `sangsaeng.<consumer>.dlq`
with the expected reason, apply the valid events around them, skip (and not dead-letter)
an event type it has never heard of, and keep going: processes alive, offsets committed
up to the end of every topic.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
import pytest

from sangsaeng_common.handlers import Handlers
from sangsaeng_common.contracts import Event, events_topic
from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.intake import BusinessRegistered, BusinessStageChanged, Stage
from sangsaeng_common.contracts.loans import LoanProgram, LoanScreened
from sangsaeng_common.contracts.districts import StoreLeftDistrict
from sangsaeng_common.contracts.referrals import ReferralAcknowledged
from sangsaeng_common.contracts.visits import VisitOutcome, VisitRecorded
from sangsaeng_common.envelope import MAX_EVENT_BYTES, Envelope, new_event_id
from tests.chaos.everything import start_everything
from tests.chaos.scale import size
from tests.conftest import SERVICES
from tests.support import Publisher, committed_offsets, eventually, read_topic, url_for

ROUNDS = size(1, 10)
PRODUCERS = ["intake", "visits", "loans", "referrals", "districts"]


def consumers() -> dict[str, Handlers]:
    """Every consumer of every service, by name (the DLQ and the inbox rows carry it)."""
    found = {}
    for service in SERVICES:
        for handlers in importlib.import_module(f"{service}.bootstrap").build().consumers:
            found[handlers.consumer] = handlers
    return found


def reads(handlers: Handlers, topic: str) -> bool:
    return topic in handlers.topics or bool(handlers.topic_pattern and re.search(handlers.topic_pattern, topic))


def schema_of(consumer: str) -> str:
    return next(s for s in SERVICES if consumer == s or consumer.startswith(f"{s}-"))


def valid_events(business_id: uuid.UUID) -> list[Event]:
    """One business's valid events on each topic; none of them can fail a handler."""
    return [
        BusinessRegistered(
            business_id=business_id, registration_number=None, name="동대문 바른분식", dong="제기동", industry="음식점업",
            employees=2, is_micro_business=True, stage=Stage.operating, registered_on=date(2023, 3, 2)),
        BusinessStageChanged(business_id=business_id, from_stage=Stage.operating, to_stage=Stage.closing, changed_on=date(2025, 5, 2)),
        VisitRecorded(visit_id=uuid.uuid4(), business_id=business_id, planner_id="planner-a", dong="제기동",
                      visited_on=date(2025, 5, 12), outcome=VisitOutcome.met),
        LoanScreened(application_id=uuid.uuid4(), business_id=business_id, program=LoanProgram.sme_development_fund,
                     eligible=True, screened_on=date(2025, 5, 13)),
        ReferralAcknowledged(referral_id=uuid.uuid4(), business_id=business_id, agency=AgencyCode.SEMAS,
                             agency_reference="SEMAS-1", acknowledged_at=datetime(2025, 5, 14, tzinfo=UTC)),
        StoreLeftDistrict(district_id=uuid.uuid4(), business_id=business_id, reason_code="moved_out", left_on=date(2025, 5, 15)),
    ]


@dataclass
class Hostile:
    reason: str  # the dead letter's expected dlq_reason
    headers: list[tuple[str, bytes]]
    value: bytes


def _headers(envelope: Envelope, **changes: str) -> dict[str, str]:
    return {**envelope.headers(), "ce_id": str(new_event_id()), **changes}


def _encoded(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in headers.items()]


def _wrong_types(data: dict) -> dict:
    swap: Callable[[object], object] = lambda v: 12345 if isinstance(v, str) else "twelve" if isinstance(v, int | float) else {"a": v}  # noqa: E731
    return {k: swap(v) for k, v in data.items()}


def hostile_records(topic: str, template: Envelope, stranger: Envelope) -> list[Hostile]:
    """`template`: a valid event on `topic`; `stranger`: a valid event of another producer."""
    data = json.loads(template.data)
    producer = topic.split(".")[1]
    other_source = next(f"/sangsaeng/{p}" for p in PRODUCERS if p != producer)
    first_text = next(k for k, v in data.items() if isinstance(v, str) and k != "business_id")

    def well_formed(reason: str, value: bytes, **changes: str) -> Hostile:
        return Hostile(reason, _encoded(_headers(template, **changes)), value)

    return [
        Hostile("missing_headers", [], b"\x00\xff\xfe not an event at all"),
        Hostile("missing_headers", _encoded({k: v for k, v in _headers(template).items() if k not in ("ce_type", "ce_source")}), template.data),
        Hostile("undecodable_headers", [*_encoded(_headers(template)), ("x-note", b"\xff\xfe")], template.data),
        well_formed("invalid_headers", template.data, ce_id="not-a-uuid"),
        well_formed("unsupported_specversion", template.data, ce_specversion="0.3"),
        well_formed("invalid_type", template.data, ce_type="BusinessRegistered"),
        # Forgery: another service claims to have written this producer's event on its topic ...
        well_formed("wrong_source", template.data, ce_source=other_source),
        # ... or puts its own (well-formed) event on a topic that is not its own.
        Hostile("wrong_source", _encoded({**_headers(stranger), "ce_subject": template.subject}), stranger.data),
        well_formed("unsupported_version", template.data, ce_type=re.sub(r"\.v\d+$", ".v99", template.type)),
        well_formed("too_large", json.dumps({**data, "padding": "가" * (MAX_EVENT_BYTES // 3 + 1)}).encode()),
        well_formed("undecodable_data", b"\x00\x01\xff{ not json"),
        well_formed("undecodable_data", b"[" * 100_000),
        well_formed("unstorable_value", json.dumps({**data, "employees": 10**30}).encode()),
        well_formed("unstorable_value", json.dumps({**data, first_text: "제기\x00동"}).encode()),
        well_formed("schema_invalid", json.dumps(_wrong_types(data)).encode()),
        well_formed("schema_invalid", json.dumps([data]).encode()),
        well_formed("schema_invalid", b"{}"),
        well_formed("subject_mismatch", template.data, ce_subject=str(uuid.uuid4())),
    ]


async def _dead_letters(stack, consumer: str) -> list:
    return await read_topic(stack.bootstrap_servers, f"sangsaeng.{consumer}.dlq")


@pytest.mark.timeout(size(600, 1800))
async def test_hostile_events_are_dead_lettered_with_their_reason_and_nothing_stalls(stack):
    processes = await start_everything(stack)
    every = consumers()
    expected: Counter = Counter()  # (consumer, topic, reason) -> dead letters
    valid: list[Envelope] = []
    unknown: list[Envelope] = []
    async with Publisher(stack.bootstrap_servers) as publisher:
        for _ in range(ROUNDS):
            business_id = uuid.uuid4()
            events = {e.topic(): Envelope.wrap(e) for e in reversed(valid_events(business_id))}  # the first of each topic
            for event in valid_events(business_id):
                valid.append(await publisher.publish(event))
                topic = event.topic()
                stranger = next(e for t, e in events.items() if t != topic)
                for hostile in hostile_records(topic, events[topic], stranger):
                    await publisher.publish_raw(topic, hostile.value, key=str(business_id).encode(), headers=hostile.headers)
                    for name, handlers in every.items():
                        if reads(handlers, topic):
                            expected[name, topic, hostile.reason] += 1
                # A type nobody has heard of (tolerant readers skip it; the ledger keeps it).
                novel = dataclasses.replace(Envelope.wrap(event), type=f"sangsaeng.{event.producer}.SomethingNew.v1")
                unknown.append(await publisher.publish_envelope(novel, topic))
            # ... and the valid events keep coming after the hostile ones.
            valid.append(await publisher.publish(BusinessStageChanged(
                business_id=business_id, from_stage=Stage.closing, to_stage=Stage.closed, changed_on=date(2025, 6, 30))))

    by_consumer = Counter()
    for (name, _, _), count in expected.items():
        by_consumer[name] += count

    async def all_dead_lettered():
        found = {name: await _dead_letters(stack, name) for name in every}
        return found if all(len(found[name]) >= by_consumer[name] for name in every) else None

    dead = await eventually(all_dead_lettered, timeout=size(120, 600), interval=2, what="every hostile record dead-lettered")
    found: Counter = Counter()
    for name, records in dead.items():
        for record in records:
            headers = headers_of_lossy(record)
            assert headers["dlq_consumer"] == name and headers["dlq_error"]
            found[name, headers["dlq_origin_topic"], headers["dlq_reason"]] += 1
    assert found == expected

    conn = await stack.db()
    try:
        for name, handlers in every.items():
            schema = schema_of(name)
            applied = {r["event_id"] for r in await conn.fetch(f"select event_id from {schema}.inbox where consumer = $1", name)}
            handled = {e.id for e in valid if reads(handlers, topic_of(e)) and _handles(handlers, e)}
            assert handled <= applied, f"{name} missed {len(handled - applied)} valid events"
            kept_unknown = {e.id for e in unknown if reads(handlers, topic_of(e))} & applied
            assert kept_unknown == ({e.id for e in unknown if reads(handlers, topic_of(e))} if handlers.keep_unknown_types else set())
        ledger = {r["event_id"] for r in await conn.fetch("select event_id from audit.ledger")}
        assert {e.id for e in [*valid, *unknown]} <= ledger
    finally:
        await conn.close()

    # Nobody crashed or stalled: every group committed up to the end of every topic it reads.
    async def caught_up():
        for name, handlers in every.items():
            for producer in PRODUCERS:
                topic = events_topic(producer)
                if reads(handlers, topic):
                    end = len(await read_topic(stack.bootstrap_servers, topic))
                    committed = await committed_offsets(stack.bootstrap_servers, handlers.group_id, topic)
                    if sum(o or 0 for o in committed.values()) != end:
                        return None
        return True

    await eventually(caught_up, timeout=120, interval=2, what="every consumer group's offsets at the end of its topics")
    async with httpx.AsyncClient(timeout=10) as client:
        for service, process in processes.items():
            assert process.returncode is None, f"{service} exited"
            assert (await client.get(url_for(process, "/ready"))).status_code == 200

    print(f"\nhostile events: {ROUNDS} round(s), {sum(expected.values())} dead letters expected and found, "
          f"{len(valid)} valid and {len(unknown)} unknown-type events applied around them")
    reasons = sorted({reason for _, _, reason in found})
    print("consumer | " + " | ".join(reasons) + " | total")
    for name in sorted(every):
        counts = [sum(c for (n, _, r), c in found.items() if n == name and r == reason) for reason in reasons]
        print(f"{name} | " + " | ".join(map(str, counts)) + f" | {sum(counts)}")


def headers_of_lossy(record) -> dict[str, str]:
    """A dead letter keeps the original's headers, undecodable bytes included."""
    return {k: v.decode("utf-8", "replace") for k, v in record.headers}


def topic_of(envelope: Envelope) -> str:
    return events_topic(envelope.source.removeprefix("/sangsaeng/"))


def _handles(handlers: Handlers, envelope: Envelope) -> bool:
    return handlers.fallback is not None or any(t.ce_type() == envelope.type for t in handlers.by_type)
