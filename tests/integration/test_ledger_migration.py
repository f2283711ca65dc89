"""Migration 0004 turns a hash-chained ledger into the transparency log: rows recorded before
it get entries rebuilt from what was kept (in SQL), which the service's own code reads as
canonical entries that agree with their rows, with a tree of them; the log verifies and new
events append after them."""

from __future__ import annotations

import uuid
from datetime import date

import httpx

from audit.domain.entry import Entry
from sangsaeng_common.contracts.loans import LoanProgram, LoanSubmitted
from sangsaeng_common.db import connect, migrate, service_migrations
from sangsaeng_common.envelope import Envelope
from tests.support import AUDITOR, Publisher, eventually, url_for


async def test_rows_of_the_hash_chain_become_entries_of_the_tree(stack):
    urls = stack.env("audit")
    owner = await connect(urls["MIGRATION_DATABASE_URL"], "audit", "test-migrate")
    runtime_role = urls["DATABASE_URL"].split("://", 1)[1].split(":", 1)[0]
    try:
        before = [m for m in service_migrations("audit") if not m.version.startswith("audit/0004")]
        await migrate(owner, "audit", before, runtime_role=runtime_role)
        legacy = []
        for i in range(5):  # the old append's rows: headers as a JSON object of strings, the value as text
            envelope = Envelope.wrap(LoanSubmitted(application_id=uuid.uuid4(), business_id=uuid.uuid4(), program=LoanProgram.bank_cooperation,
                                                   amount_krw=10_000_000 + i, purpose="운영 \"자금\"\n", submitted_on=date(2025, 5, 2)))
            headers = envelope.headers()
            legacy.append(envelope)
            await owner.execute(
                """insert into ledger (position, event_id, event_type, source, subject, event_time, topic, kafka_partition, kafka_offset,
                                       headers, data_text, prev_hash, hash)
                   values ($1, $2, $3, $4, $5, $6, 'sangsaeng.loans.events', $7, $8, $9, $10, 'x', 'y')""",
                i + 1, envelope.id, envelope.type, envelope.source, envelope.subject, envelope.time, i % 2, i, headers,
                envelope.data.decode())
        await owner.execute("update ledger_head set position = 5")
        await migrate(owner, "audit", service_migrations("audit"), runtime_role=runtime_role)
        rows = await owner.fetch("select position, entry, data_text, subject from ledger order by position")
        for row, envelope in zip(rows, legacy):
            entry = Entry.from_bytes(row["entry"])  # canonical, as the service's own code writes it
            assert entry.value == row["data_text"].encode() and entry.key == envelope.subject.encode()
            assert dict((k, v.decode()) for k, v in entry.headers) == envelope.headers()
            assert [k for k, _ in entry.headers] == sorted(envelope.headers())
        assert await owner.fetchval("select count(*) from ledger_tree where level = 0") == 5
    finally:
        await owner.close()

    audit = await stack.start("audit")
    async with Publisher(stack.bootstrap_servers) as publisher:
        await publisher.publish(LoanSubmitted(application_id=uuid.uuid4(), business_id=uuid.uuid4(), program=LoanProgram.bank_cooperation,
                                              amount_krw=1, purpose="operating", submitted_on=date(2025, 5, 3)))
    async with httpx.AsyncClient(timeout=30) as client:
        async def verified():
            result = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
            return result if result["log"]["entries_checked"] == 6 and result["log"]["checkpoints"]["checked"] else None

        result = await eventually(verified, timeout=60, what="the new event after the five old ones, checkpointed")
    assert result["log"]["first_broken"] is None and result["log"]["checkpoints"]["findings"] == [], result["log"]
