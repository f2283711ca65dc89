"""What auditors ask of the ledger: verify it, report on it, export it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit.domain.application import application_state
from audit.domain.chain import ChainWalker
from audit.domain.events import LedgerEvent
from audit.domain.period import Period
from audit.domain.report import build_report
from audit.domain.rules import DEFAULT_LIMITS, check_rules
from audit.ledger import chain


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    program_limits: dict[str, dict[str, int]] = DEFAULT_LIMITS
    # Where `audit replay` asks each service to rebuild its read models (its /admin/replay).
    service_urls: dict[str, str] = {
        "intake": "http://127.0.0.1:8001",
        "visits": "http://127.0.0.1:8002",
        "loans": "http://127.0.0.1:8003",
        "referrals": "http://127.0.0.1:8004",
    }


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
            yield LedgerEvent(r["position"], str(r["event_id"]), r["event_type"], r["subject"], r["event_time"], r["data"])
        if len(rows) < chunk:
            return
        after = rows[-1]["position"]


async def verify(conn: asyncpg.Connection) -> dict[str, Any]:
    """Walk the whole chain, then check the cross-service rules over every event."""
    walker, broken = ChainWalker(), None
    async for stored in chain(conn):
        if (broken := walker.check(stored)) is not None:
            break
    head = await conn.fetchrow("select position, hash from ledger_head")
    if broken is None and head["position"] != walker.checked:
        broken_detail = {"position": walker.checked + 1, "event_id": None, "reason": f"head says {head['position']} links, found {walker.checked}"}
    else:
        broken_detail = asdict(broken) if broken else None
    events = [e async for e in all_events(conn)]
    findings = check_rules(events, AuditSettings().program_limits)
    return {
        "ok": broken_detail is None and not findings,
        "checked_at": datetime.now(UTC).isoformat(),
        "chain": {"links_checked": walker.checked, "head_position": head["position"], "first_broken": broken_detail},
        "rules": {"events_checked": len(events), "findings": [asdict(f) | {"related": list(f.related)} for f in findings]},
    }


async def report(conn: asyncpg.Connection, period: Period) -> dict[str, Any]:
    return build_report(period, [e async for e in all_events(conn)])


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
    for each partition the order it was consumed in, so a service can rebuild from them."""
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


async def application_at(conn: asyncpg.Connection, application_id: str, at: datetime) -> dict[str, Any] | None:
    """One loan application as the ledger knew it at `at` (None if it did not exist yet)."""
    rows = await conn.fetch(
        """select position, event_id, event_type, subject, event_time, data from ledger
           where data ? 'application_id' and data->>'application_id' = $1 and event_time <= $2
           order by position""",
        application_id,
        at,
    )
    events = [LedgerEvent(r["position"], str(r["event_id"]), r["event_type"], r["subject"], r["event_time"], r["data"]) for r in rows]
    return application_state(application_id, events, at)
