"""A command made of one write and its event runs as ONE statement (outbox.add_with): the
row and its outbox row commit together or not at all, and the key's lock still orders the
outbox (outbox.py's LOCKING)."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from sangsaeng_common import outbox
from sangsaeng_common.contracts.intake import BusinessRegistered
from sangsaeng_common.db import LOCK_OUTBOX_KEY, connect
from tests.support import STAFF, business_body, url_for

INSERT = "insert into businesses (id, name, dong, industry, employees, is_micro_business, stage) values ($1, $2, '회기동', 'retail', 1, true, 'prospective') returning *"


def _registered(business_id: uuid.UUID, name: str) -> BusinessRegistered:
    return BusinessRegistered(business_id=business_id, registration_number=None, name=name, dong="회기동", industry="retail",
                              employees=1, is_micro_business=True, stage="prospective", registered_on=None)


async def test_a_registration_and_its_event_commit_together_and_a_refused_one_writes_neither(stack):
    api = await stack.start("intake", "api")
    async with httpx.AsyncClient(timeout=30) as client:
        body = business_body()
        first = await client.post(url_for(api, "/businesses"), json=body, headers=STAFF)
        assert first.status_code == 201, first.text
        again = await client.post(url_for(api, "/businesses"), json={**body, "name": "다른 가게"}, headers=STAFF)
        assert again.status_code == 409, again.text
    db = await stack.db()
    try:
        assert await db.fetchval("select count(*) from intake.businesses") == 1
        events = await db.fetch("select key, event_type from intake.outbox")
        assert [(r["key"], r["event_type"]) for r in events] == [(first.json()["id"], BusinessRegistered.ce_type())]
    finally:
        await db.close()


async def test_one_statement_waits_for_the_keys_lock_so_seq_order_is_commit_order(stack):
    await stack.start("intake", "api")  # its migrations: the businesses and outbox tables
    business_id = uuid.uuid4()
    # The services' own connections (their JSON codecs), as the intake schema's superuser.
    holder, writer = [await connect(stack.admin_url, "intake", f"test-{name}") for name in ("holder", "writer")]
    try:
        holding = holder.transaction()
        await holding.start()
        # An earlier transaction writing an event of the same key, not yet committed.
        await outbox.add(holder, _registered(business_id, "먼저"))
        assert await holder.fetchval("select count(*) from pg_locks where locktype = 'advisory' and classid = $1 and granted",
                                     LOCK_OUTBOX_KEY) == 1
        later = asyncio.create_task(outbox.add_with(writer, INSERT, (business_id, "나중"), _registered(business_id, "나중")))
        await asyncio.sleep(0.5)
        assert not later.done(), "the one statement took its seq while an earlier writer of its key had not committed"
        await holding.commit()
        rows, envelope = await asyncio.wait_for(later, 10)
        assert [r["name"] for r in rows] == ["나중"] and envelope is not None
        seqs = await writer.fetch("select seq, event_id from outbox where key = $1 order by seq", str(business_id))
        assert seqs[-1]["event_id"] == envelope.id and len(seqs) == 2

        # An effect that writes nothing adds no event.
        nothing, none = await outbox.add_with(writer, "update businesses set name = $2 where id = $1 returning *",
                                              (uuid.uuid4(), "없음"), _registered(business_id, "없음"))
        assert nothing == [] and none is None
        assert await writer.fetchval("select count(*) from outbox where key = $1", str(business_id)) == 2
    finally:
        await holder.close()
        await writer.close()
