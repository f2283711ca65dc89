"""The ledger's writes: append events to the hash chain under the head lock.

The ledger is append-only: this is the only statement that adds rows, nothing here updates or
deletes a link (the migrations' trigger refuses both, and the runtime role is granted only
select and insert on `ledger`, select and update on `ledger_head`). Reads: adapters.queries."""

from __future__ import annotations

import asyncpg
from aiokafka.structs import ConsumerRecord

from audit.domain.chain import LinkInput, link
from sangsaeng_common.envelope import Envelope


async def append(conn: asyncpg.Connection, events: list[tuple[Envelope, ConsumerRecord]]) -> int:
    """Append events to the chain, in order, in the caller's (inbox) transaction; returns
    the last position."""
    # LOCKING: the chain is one sequence, and each link needs the hash of the one before.
    # Every append locks the single head row FOR UPDATE, so appends from all partitions
    # and all audit replicas take turns: a second writer waits until the first commits
    # and then reads the head the first one left. Chain order is therefore commit order,
    # positions are gapless, and no two links can claim the same predecessor. The lock
    # is taken once per batch of events and kept until commit.
    head = await conn.fetchrow("select position, hash from ledger_head for update")
    position, prev_hash = head["position"], head["hash"]
    rows = []
    for envelope, record in events:
        headers = {k: v.decode("utf-8", "replace") for k, v in record.headers or ()}
        entry = LinkInput(
            event_id=str(envelope.id),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            headers=headers,
            data_text=envelope.data.decode("utf-8"),
        )
        position, new_hash = position + 1, link(prev_hash, entry)
        rows.append((position, envelope.id, envelope.type, envelope.source, envelope.subject, envelope.time, record.topic,
                     record.partition, record.offset, headers, entry.data_text, prev_hash, new_hash))
        prev_hash = new_hash
    await conn.executemany(
        """insert into ledger (position, event_id, event_type, source, subject, event_time, topic,
                               kafka_partition, kafka_offset, headers, data_text, prev_hash, hash)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        rows,
    )
    await conn.execute("update ledger_head set position = $1, hash = $2", position, prev_hash)
    return position
