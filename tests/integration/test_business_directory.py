"""The shared business directory (sangsaeng_common.directory), proven once for every service
that keeps one: intake's BusinessRegistered / BusinessDetailsChanged / BusinessStageChanged / BusinessErased,
published straight to intake's topic, make the same rows in each; the same event twice
has one effect; an erasure of a business never registered leaves a tombstone that its
late registration cannot fill with personal data; and a replay rebuilds it all equal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from sangsaeng_common.contracts.intake import (
    BusinessDetail, BusinessDetailsChanged, BusinessErased, BusinessRegistered, BusinessStageChanged, Stage,
)
from sangsaeng_common.envelope import Envelope
from tests.support import AUDITOR, Publisher, eventually, url_for

INTAKE_TOPIC = "sangsaeng.intake.events"


@dataclass(frozen=True)
class Kept:
    """What a service declares it keeps (the test's own copy: it checks the declaration)."""

    service: str
    columns: tuple[str, ...]
    blank: dict[str, Any] = field(default_factory=dict)
    stage_history: bool = False


KEPT = [
    Kept("visits", ("registration_number", "name", "dong", "industry", "employees", "is_micro_business", "stage", "registered_on"),
         blank={"name": "(삭제됨)", "registration_number": None}, stage_history=True),
    Kept("loans", ("dong", "industry", "employees", "is_micro_business", "stage", "registered_on")),
    Kept("referrals", ("dong", "industry", "stage")),
    Kept("districts", ("name", "dong", "stage"), blank={"name": "(삭제됨)"}),
]


def registration(business_id: uuid.UUID, dong: str = "회기동", **changes: Any) -> BusinessRegistered:
    return BusinessRegistered(**{
        "business_id": business_id, "registration_number": "1234567890", "name": "김철수 공방", "dong": dong,
        "industry": "제조업", "employees": 3, "is_micro_business": True, "stage": Stage.operating,
        "registered_on": date(2023, 3, 2), **changes,
    })


def change(business_id: uuid.UUID, from_stage: Stage, to_stage: Stage, day: int) -> BusinessStageChanged:
    return BusinessStageChanged(business_id=business_id, from_stage=from_stage, to_stage=to_stage, changed_on=date(2025, 5, day))


def erasure(business_id: uuid.UUID, when: datetime | None = None) -> BusinessErased:
    return BusinessErased(business_id=business_id, erased_at=when or datetime(2025, 6, 1, 9, 0, tzinfo=UTC))


def facts(event: BusinessRegistered, kept: Kept) -> dict[str, Any]:
    values = {"registration_number": event.registration_number, "name": event.name, "dong": event.dong, "industry": event.industry,
              "employees": event.employees, "is_micro_business": event.is_micro_business, "stage": event.stage.value,
              "registered_on": event.registered_on}
    return {c: values[c] for c in kept.columns}


class Directory:
    """Reads a service's directory straight from its schema."""

    def __init__(self, conn, kept: Kept):
        self.conn, self.kept, self.schema = conn, kept, kept.service

    async def row(self, business_id: uuid.UUID) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(f"select * from {self.schema}.businesses where id = $1", business_id)
        return dict(row) if row else None

    async def kept_facts(self, business_id: uuid.UUID) -> dict[str, Any] | None:
        row = await self.row(business_id)
        return {c: row[c] for c in self.kept.columns} if row else None

    async def history(self, business_id: uuid.UUID) -> list[tuple]:
        rows = await self.conn.fetch(
            f"select position, from_stage, to_stage, changed_on from {self.schema}.business_stage_history where business_id = $1 order by position",
            business_id,
        )
        return [tuple(r) for r in rows]

    async def inbox(self) -> int:
        return await self.conn.fetchval(f"select count(*) from {self.schema}.inbox")

    async def applied(self, n: int) -> bool:
        return await self.inbox() >= n


async def replayed_equal(client: httpx.AsyncClient, service) -> dict:
    response = await client.post(url_for(service, "/admin/replay"), headers=AUDITOR)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["equal"] is True, report
    return report


@pytest.mark.parametrize("kept", KEPT, ids=[k.service for k in KEPT])
async def test_registration_stage_changes_and_erasure_make_the_same_directory_and_replay_equal(stack, kept: Kept):
    service = await stack.start(kept.service)
    shop, other, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    shop_registered, other_registered = registration(shop), registration(other, dong="제기동", name="다른 가게", registration_number=None)
    late = registration(unknown, dong="이문1동", name="박영희 상회", registration_number="2345678901")
    events = [
        shop_registered, other_registered,
        change(shop, Stage.operating, Stage.closing, 10), change(shop, Stage.closing, Stage.closed, 20),
        erasure(shop),
        erasure(unknown), late,  # erased before its registration arrived (e.g. redriven from a DLQ)
        change(other, Stage.operating, Stage.closing, 21),
    ]
    async with Publisher(stack.bootstrap_servers) as publisher:
        for event in events:
            await publisher.publish(event)
    conn = await stack.db()
    try:
        directory = Directory(conn, kept)
        await eventually(lambda: directory.applied(len(events)), timeout=60, what=f"{kept.service} applied intake's events")

        # Registration: the declared columns, from the event.
        assert await directory.kept_facts(other) == {**facts(other_registered, kept), "stage": "closing"}
        other_row = await directory.row(other)
        assert other_row["erased_at"] is None and other_row["registered"] is True

        # Stage changes: the latest stage; the history in log order.
        shop_row = await directory.row(shop)
        assert shop_row["stage"] == "closed"
        if kept.stage_history:
            assert await directory.history(shop) == [(1, "operating", "closing", date(2025, 5, 10)), (2, "closing", "closed", date(2025, 5, 20))]
            assert await directory.history(other) == [(1, "operating", "closing", date(2025, 5, 21))]

        # Erasure: the policy's columns blanked, erased_at set, the rest kept.
        assert await directory.kept_facts(shop) == {**facts(shop_registered, kept), "stage": "closed", **kept.blank}
        assert shop_row["erased_at"] == datetime(2025, 6, 1, 9, 0, tzinfo=UTC)

        # An erasure before the registration: the registration fills in only what erasure does not take.
        unknown_row = await directory.row(unknown)
        assert unknown_row["registered"] is True and unknown_row["erased_at"] is not None
        assert await directory.kept_facts(unknown) == {**facts(late, kept), **kept.blank}
        for column in kept.blank:
            assert unknown_row[column] != getattr(late, column)
    finally:
        await conn.close()

    async with httpx.AsyncClient(timeout=120) as client:
        report = await replayed_equal(client, service)
    assert report["events"] == len(events)
    rows = {t["table"]: t["rebuilt_rows"] for t in report["tables"]}
    assert rows["businesses"] == 3
    if kept.stage_history:
        assert rows["business_stage_history"] == 3


@pytest.mark.parametrize("kept", KEPT, ids=[k.service for k in KEPT])
async def test_the_same_event_twice_has_one_effect_and_replays_equal(stack, kept: Kept):
    service = await stack.start(kept.service)
    shop, tombstone = uuid.uuid4(), uuid.uuid4()
    registered = Envelope.wrap(registration(shop))
    changed = Envelope.wrap(change(shop, Stage.operating, Stage.closing, 10))
    erased = Envelope.wrap(erasure(shop))
    erased_unknown = Envelope.wrap(erasure(tombstone))
    async with Publisher(stack.bootstrap_servers) as publisher:
        for envelope in (registered, registered, changed, changed, erased, erased_unknown, erased_unknown):
            await publisher.publish_envelope(envelope, INTAKE_TOPIC)
        # Same key, same partition: when this one is applied, the repeats before it were too.
        last = await publisher.publish(change(shop, Stage.closing, Stage.closed, 20))

    conn = await stack.db()
    try:
        directory = Directory(conn, kept)

        async def last_applied() -> bool:
            return bool(await conn.fetchval(f"select 1 from {kept.service}.inbox where event_id = $1", last.id))

        await eventually(last_applied, timeout=60, what=f"{kept.service} applied the events and their repeats")
        assert await directory.inbox() == 5  # five events, seven deliveries
        assert await conn.fetchval(f"select count(*) from {kept.service}.businesses") == 2
        row = await directory.row(shop)
        assert row["stage"] == "closed" and row["erased_at"] is not None
        if kept.stage_history:
            assert [h[:3] for h in await directory.history(shop)] == [(1, "operating", "closing"), (2, "closing", "closed")]
        tomb = await directory.row(tombstone)
        assert tomb["registered"] is False and tomb["erased_at"] is not None
        assert {c: tomb[c] for c in kept.blank} == kept.blank
        if kept.service == "visits":  # its own effect of a registration, once
            assert await conn.fetchval("select businesses from visits.dong_business_counts where dong = '회기동'") == 1
    finally:
        await conn.close()

    async with httpx.AsyncClient(timeout=120) as client:
        report = await replayed_equal(client, service)
    assert report["events"] == 8  # every delivery replayed; the inbox drops the repeats again


def details(business_id: uuid.UUID, **values: Any) -> BusinessDetailsChanged:
    named = [BusinessDetail(k) for k in values if k != "is_micro_business"]
    return BusinessDetailsChanged(business_id=business_id, changed=named or [BusinessDetail.address], changed_on=date(2025, 8, 1),
                                  **values)


@pytest.mark.parametrize("kept", KEPT, ids=[k.service for k in KEPT])
async def test_a_change_of_details_reaches_the_kept_columns_but_never_an_erased_businesss_blanks(stack, kept: Kept):
    service = await stack.start(kept.service)
    shop, erased_shop, tombstone = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events = [
        registration(shop), registration(erased_shop, dong="제기동"),
        details(shop, name="바른 공방", dong="이문1동", employees=12, is_micro_business=False),
        details(shop, industry="의류 제조업"),
        details(shop),  # only the address changed: nothing a directory keeps
        erasure(erased_shop), details(erased_shop, name="박영희 공방", dong="휘경1동"),
        erasure(tombstone), details(tombstone, dong="회기동"),  # never registered here: nothing to change
    ]
    async with Publisher(stack.bootstrap_servers) as publisher:
        for event in events:
            await publisher.publish(event)
    conn = await stack.db()
    try:
        directory = Directory(conn, kept)
        await eventually(lambda: directory.applied(len(events)), timeout=60, what=f"{kept.service} applied intake's events")
        changed = {"name": "바른 공방", "dong": "이문1동", "industry": "의류 제조업", "employees": 12, "is_micro_business": False}
        assert await directory.kept_facts(shop) == {**facts(registration(shop), kept), **{c: v for c, v in changed.items() if c in kept.columns}}
        expected_erased = {**facts(registration(erased_shop, dong="제기동"), kept), **kept.blank}
        if "dong" in kept.columns:
            expected_erased["dong"] = "휘경1동"  # not a blanked column: it follows
        assert await directory.kept_facts(erased_shop) == expected_erased  # the name stays blanked
        tomb = await directory.row(tombstone)
        assert tomb["registered"] is False and ("dong" not in kept.columns or tomb["dong"] == "")
        if kept.service == "visits":  # the dong counts follow the move
            counts = dict(await conn.fetch("select dong, businesses from visits.dong_business_counts"))
            assert (counts["회기동"], counts["이문1동"], counts["제기동"], counts["휘경1동"]) == (0, 1, 0, 1)
    finally:
        await conn.close()

    async with httpx.AsyncClient(timeout=120) as client:
        report = await replayed_equal(client, service)
    assert report["events"] == len(events)
