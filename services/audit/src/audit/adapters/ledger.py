"""The ledger's writes: append events with their entry bytes and the tree nodes they complete,
under the head lock; store a signed checkpoint.

The ledger is append-only: these are the only statements that add rows, nothing here updates
or deletes an entry, a node or a checkpoint (the migrations' triggers refuse both, and the
runtime role is granted only select and insert on them, select and update on `ledger_head`).
Reads: adapters.queries."""

from __future__ import annotations

import asyncpg
from aiokafka.structs import ConsumerRecord

from audit.domain.checkpoint import Checkpoint
from audit.domain.entry import Entry
from audit.domain.merkle import Frontier, frontier_keys, leaf_hash
from sangsaeng_common import failpoints
from sangsaeng_common.envelope import Envelope


async def nodes(conn: asyncpg.Connection, keys: list[tuple[int, int]] | set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored tree nodes by (level, index); a missing one is simply absent."""
    keys = list(keys)
    if not keys:
        return {}
    rows = await conn.fetch(
        """select t.level, t.index, t.hash from ledger_tree t
             join unnest($1::smallint[], $2::bigint[]) as k(level, index) on t.level = k.level and t.index = k.index""",
        [k[0] for k in keys], [k[1] for k in keys],
    )
    return {(r["level"], r["index"]): r["hash"] for r in rows}


async def frontier(conn: asyncpg.Connection, size: int) -> Frontier:
    found = await nodes(conn, frontier_keys(size))
    return Frontier.of(size, lambda level, index: found[(level, index)])


def entry_of(record: ConsumerRecord) -> Entry:
    return Entry(record.topic, record.partition, record.offset, record.key, tuple(record.headers or ()), record.value)


async def append(conn: asyncpg.Connection, events: list[tuple[Envelope, ConsumerRecord]]) -> int:
    """Append events to the log, in order, in the caller's (inbox) transaction; returns the
    tree's new size (the last position)."""
    # LOCKING: the log is one sequence, and each append extends the tree's right edge.
    # Every append locks the single head row FOR UPDATE, so appends from all partitions
    # and all audit replicas take turns: a second writer waits until the first commits and
    # then reads the head (and the frontier) the first one left. Log order is therefore
    # commit order, positions are gapless, and no two entries can claim the same index.
    # The lock is taken once per batch of events and kept until commit.
    size = await conn.fetchval("select position from ledger_head for update")
    tree = await frontier(conn, size)
    rows, levels, indexes, hashes = [], [], [], []
    for envelope, record in events:
        entry = entry_of(record)
        raw = entry.to_bytes()
        for level, index, digest in tree.append(leaf_hash(raw)):
            levels.append(level), indexes.append(index), hashes.append(digest)
        headers = {name: (value or b"").decode("utf-8", "replace") for name, value in entry.headers}
        rows.append((tree.size, envelope.id, envelope.type, envelope.source, envelope.subject, envelope.time, record.topic,
                     record.partition, record.offset, headers, envelope.data.decode("utf-8"), raw))
    await conn.executemany(
        """insert into ledger (position, event_id, event_type, source, subject, event_time, topic,
                               kafka_partition, kafka_offset, headers, data_text, entry)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        rows,
    )
    failpoints.hit("audit.after_entries")  # the crash test: entries written, tree not yet (one transaction: neither lands)
    await conn.execute(
        "insert into ledger_tree (level, index, hash) select * from unnest($1::smallint[], $2::bigint[], $3::bytea[])",
        levels, indexes, hashes,
    )
    await conn.execute("update ledger_head set position = $1", tree.size)
    return tree.size


async def add_checkpoint(conn: asyncpg.Connection, checkpoint: Checkpoint, note: str, key_id: str) -> int:
    return await conn.fetchval(
        "insert into ledger_checkpoints (tree_size, root_hash, note, key_id) values ($1, $2, $3, $4) returning id",
        checkpoint.size, checkpoint.root, note, key_id,
    )


LOCK_CHECKPOINTING = 7101  # with the schema's name: one checkpoint signer at a time per ledger


async def try_lock_checkpointing(conn: asyncpg.Connection) -> bool:
    """Take the transaction-scoped checkpointing lock if no other transaction holds it."""
    return await conn.fetchval("select pg_try_advisory_xact_lock($1, hashtext(current_schema()))", LOCK_CHECKPOINTING)
