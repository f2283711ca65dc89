"""The ledger's reads: the entries in position order with their stored leaves, the head, entry
ranges, checkpoints, every event, some topics' events whole (what `/events` streams), one
application's events. Tree nodes: adapters.ledger.nodes. Writes: adapters.ledger."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from audit.domain.events import LedgerEvent
from audit.domain.log_check import EntryRow


async def stored_entries(conn: asyncpg.Connection, chunk: int = 5000) -> AsyncIterator[EntryRow]:
    """Every entry in position order with its stored leaf, read in chunks (a keyset walk)."""
    after = 0
    while True:
        rows = await conn.fetch(
            """select l.position, l.event_id, l.event_type, l.subject, l.topic, l.kafka_partition, l.kafka_offset, l.data_text,
                      l.entry, t.hash as leaf
               from ledger l left join ledger_tree t on t.level = 0 and t.index = l.position - 1
               where l.position > $1 order by l.position limit $2""",
            after,
            chunk,
        )
        for r in rows:
            yield EntryRow(r["position"], str(r["event_id"]), r["event_type"], r["subject"], r["topic"], r["kafka_partition"],
                              r["kafka_offset"], r["data_text"], r["entry"], r["leaf"])
        if len(rows) < chunk:
            return
        after = rows[-1]["position"]


def _ledger_event(r: asyncpg.Record) -> LedgerEvent:
    data = r["data"] if isinstance(r["data"], dict) else json.loads(r["data"])
    return LedgerEvent.newest(r["position"], str(r["event_id"]), r["event_type"], r["subject"], r["event_time"], data, r["actor"])


async def head_position(conn: asyncpg.Connection) -> int:
    """How many entries the head says the log has (the tree's size)."""
    return await conn.fetchval("select position from ledger_head")


async def entries(conn: asyncpg.Connection, start: int, end: int) -> list[tuple[int, bytes]]:
    """(index, entry bytes) for indexes in [start, end)."""
    rows = await conn.fetch("select position - 1 as index, entry from ledger where position > $1 and position <= $2 order by position",
                            start, end)
    return [(r["index"], r["entry"]) for r in rows]


async def entry_index(conn: asyncpg.Connection, event_id: str) -> int | None:
    position = await conn.fetchval("select position from ledger where event_id = $1::uuid", event_id)
    return None if position is None else position - 1


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    tree_size: int
    root_hash: bytes
    note: str
    key_id: str
    signed_at: datetime


def _checkpoint(r: asyncpg.Record) -> StoredCheckpoint:
    return StoredCheckpoint(r["id"], r["tree_size"], r["root_hash"], r["note"], r["key_id"], r["signed_at"])


async def latest_checkpoint(conn: asyncpg.Connection) -> StoredCheckpoint | None:
    row = await conn.fetchrow("select * from ledger_checkpoints order by tree_size desc, id desc limit 1")
    return None if row is None else _checkpoint(row)


async def checkpoints_of_size(conn: asyncpg.Connection, size: int) -> list[StoredCheckpoint]:
    return [_checkpoint(r) for r in await conn.fetch("select * from ledger_checkpoints where tree_size = $1 order by id", size)]


async def first_checkpoint_covering(conn: asyncpg.Connection, size: int) -> StoredCheckpoint | None:
    row = await conn.fetchrow("select * from ledger_checkpoints where tree_size >= $1 order by tree_size, id limit 1", size)
    return None if row is None else _checkpoint(row)


async def all_checkpoints(conn: asyncpg.Connection) -> list[StoredCheckpoint]:
    return [_checkpoint(r) for r in await conn.fetch("select * from ledger_checkpoints order by tree_size, id")]


async def all_events(conn: asyncpg.Connection, chunk: int = 5000) -> AsyncIterator[LedgerEvent]:
    after = 0
    while True:
        rows = await conn.fetch(
            """select position, event_id, event_type, subject, event_time, data, headers->>'ce_actor' as actor from ledger
               where position > $1 order by position limit $2""",
            after,
            chunk,
        )
        for r in rows:
            yield _ledger_event(r)
        if len(rows) < chunk:
            return
        after = rows[-1]["position"]


async def export(conn: asyncpg.Connection, topics: Sequence[str] | None = None) -> AsyncIterator[dict[str, Any]]:
    """Events (of some topics), whole, in ledger order: for each partition the order it was
    consumed in, so a service can rebuild from them. The service layer selects a period.

    Each is one line of `GET /events` (and of `audit export --format jsonl`): its keys and their
    order are that endpoint's wire format, which other services' replay reads; `index` is the
    entry's index in the Merkle tree (its exact bytes: `GET /entries`)."""
    where, args = ("", []) if not topics else (" where topic = any($1::text[])", [list(topics)])
    async with conn.transaction():
        async for r in conn.cursor(
            f"""select position, event_id, event_type, source, subject, event_time, topic, kafka_partition, kafka_offset,
                       headers, data_text
                from ledger{where} order by position""",
            *args,
            prefetch=1000,
        ):
            yield {
                "position": r["position"],
                "index": r["position"] - 1,
                "event_id": str(r["event_id"]),
                "type": r["event_type"],
                "source": r["source"],
                "subject": r["subject"],
                "time": r["event_time"].isoformat(),
                "topic": r["topic"],
                "partition": r["kafka_partition"],
                "offset": r["kafka_offset"],
                "headers": r["headers"],
                "data": json.loads(r["data_text"]),
            }


async def application_events(conn: asyncpg.Connection, application_id: str, until: datetime) -> list[LedgerEvent]:
    """Every event naming the loan application, up to `until`, in ledger order."""
    rows = await conn.fetch(
        """select position, event_id, event_type, subject, event_time, data, headers->>'ce_actor' as actor from ledger
           where data ? 'application_id' and data->>'application_id' = $1 and event_time <= $2
           order by position""",
        application_id,
        until,
    )
    return [_ledger_event(r) for r in rows]


async def entries_at(conn: asyncpg.Connection, indexes: list[int]) -> list[tuple[int, bytes]]:
    """(index, entry bytes) of the given indexes, in index order."""
    rows = await conn.fetch("select position - 1 as index, entry from ledger where position = any($1::bigint[]) order by position",
                            [i + 1 for i in indexes])
    return [(r["index"], r["entry"]) for r in rows]
