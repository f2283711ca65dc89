"""The ledger's reads: the chain in position order, the head, every event, a period's or some
topics' events whole (what `/events` streams), one application's events. Writes: adapters.ledger."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import ValidationError

from sangsaeng_common.contracts import upcast_data

from audit.domain.chain import LinkInput, StoredLink
from audit.domain.events import LedgerEvent
from audit.domain.period import Period


async def chain(conn: asyncpg.Connection, chunk: int = 5000) -> AsyncIterator[StoredLink]:
    """Every link in position order, read in chunks (a keyset walk, not one huge result)."""
    after = 0
    while True:
        rows = await conn.fetch(
            """select position, event_id, topic, kafka_partition, kafka_offset, headers, data_text, prev_hash, hash
               from ledger where position > $1 order by position limit $2""",
            after,
            chunk,
        )
        for r in rows:
            yield StoredLink(
                position=r["position"],
                entry=LinkInput(str(r["event_id"]), r["topic"], r["kafka_partition"], r["kafka_offset"], r["headers"], r["data_text"]),
                prev_hash=r["prev_hash"],
                hash=r["hash"],
            )
        if len(rows) < chunk:
            return
        after = rows[-1]["position"]


def _ledger_event(r: asyncpg.Record) -> LedgerEvent:
    """A ledger row as the audit rules read it: an older event version upcast to the newest
    (the rules know only the newest; the row itself, its bytes and its hash, stay as recorded)."""
    data = r["data"] if isinstance(r["data"], dict) else json.loads(r["data"])
    try:
        event_type, data = upcast_data(r["event_type"], data)
    except ValidationError:  # kept whole though its contract refuses it (a ledger keeps everything): read as recorded
        event_type = r["event_type"]
    return LedgerEvent(r["position"], str(r["event_id"]), event_type, r["subject"], r["event_time"], data)


async def head_position(conn: asyncpg.Connection) -> int:
    """How many links the head says the chain has."""
    return await conn.fetchval("select position from ledger_head")


async def all_events(conn: asyncpg.Connection, chunk: int = 5000) -> AsyncIterator[LedgerEvent]:
    after = 0
    while True:
        rows = await conn.fetch(
            """select position, event_id, event_type, subject, event_time, data from ledger
               where position > $1 order by position limit $2""",
            after,
            chunk,
        )
        for r in rows:
            yield _ledger_event(r)
        if len(rows) < chunk:
            return
        after = rows[-1]["position"]


def _export_filter(period: Period | None, topics: Sequence[str] | None) -> tuple[str, list[Any]]:
    conditions, args = [], []
    if period is not None:
        args += [datetime(period.start.year, period.start.month, period.start.day, tzinfo=UTC),
                 datetime(period.end.year, period.end.month, period.end.day, tzinfo=UTC)]
        conditions.append(f"event_time >= ${len(args) - 1} and event_time < ${len(args)}")
    if topics:
        args.append(list(topics))
        conditions.append(f"topic = any(${len(args)}::text[])")
    return (" where " + " and ".join(conditions)) if conditions else "", args


async def export_count(conn: asyncpg.Connection, period: Period | None = None, topics: Sequence[str] | None = None) -> int:
    where, args = _export_filter(period, topics)
    return await conn.fetchval(f"select count(*) from ledger{where}", *args)


async def export(
    conn: asyncpg.Connection, period: Period | None = None, topics: Sequence[str] | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Events (of a period, by CloudEvents time; of some topics), whole, in ledger order:
    for each partition the order it was consumed in, so a service can rebuild from them.

    Each is one line of `GET /events` (and of `audit export`): its keys and their order are
    that endpoint's wire format, which other services' replay reads."""
    where, args = _export_filter(period, topics)
    async with conn.transaction():
        async for r in conn.cursor(
            f"""select position, event_id, event_type, source, subject, event_time, topic, kafka_partition, kafka_offset,
                       headers, data_text, hash
                from ledger{where} order by position""",
            *args,
            prefetch=1000,
        ):
            yield {
                "position": r["position"],
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
                "hash": r["hash"],
            }


async def application_events(conn: asyncpg.Connection, application_id: str, until: datetime) -> list[LedgerEvent]:
    """Every event naming the loan application, up to `until`, in ledger order."""
    rows = await conn.fetch(
        """select position, event_id, event_type, subject, event_time, data from ledger
           where data ? 'application_id' and data->>'application_id' = $1 and event_time <= $2
           order by position""",
        application_id,
        until,
    )
    return [_ledger_event(r) for r in rows]
