"""Audit's use cases: record events in the ledger, verify it, report on it, export it, fold one
application. Each takes the connection it works on, calls the domain rules and the adapters,
and raises only sangsaeng_common.errors (the entrypoints map them to problem+json or to exit codes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

import asyncpg

from audit.adapters import ledger, queries
from audit.domain.application import application_state, as_of
from audit.domain.chain import ChainWalker
from audit.domain.period import Period, parse_period
from audit.domain.report import build_report
from audit.domain.rules import check_rules
from audit.service_layer.commands import ApplicationAt, ExportEvents, Record, Report, Verify
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.errors import NotFound, invalid


def period_of(text: str) -> Period:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise invalid("period", str(exc)) from None


async def record(conn: asyncpg.Connection, cmd: Record) -> int:
    """In the consumer's inbox transaction: the ledger's only write. Returns the last position."""
    return await ledger.append(conn, cmd.events)


async def verify(
    conn: asyncpg.Connection, cmd: Verify, *, limits: dict[str, dict[str, int]], clock: SeoulClock
) -> dict[str, Any]:
    """Walk the whole chain, then check the cross-service rules over every event."""
    walker, broken = ChainWalker(), None
    async for stored in queries.chain(conn):
        if (broken := walker.check(stored)) is not None:
            break
    head_position = await queries.head_position(conn)
    if broken is None and head_position != walker.checked:
        broken_detail = {"position": walker.checked + 1, "event_id": None, "reason": f"head says {head_position} links, found {walker.checked}"}
    else:
        broken_detail = asdict(broken) if broken else None
    events = [e async for e in queries.all_events(conn)]
    findings = check_rules(events, limits)
    return {
        "ok": broken_detail is None and not findings,
        "checked_at": clock.now().isoformat(),
        "chain": {"links_checked": walker.checked, "head_position": head_position, "first_broken": broken_detail},
        "rules": {"events_checked": len(events), "findings": [asdict(f) | {"related": list(f.related)} for f in findings]},
    }


async def report(conn: asyncpg.Connection, cmd: Report) -> dict[str, Any]:
    period = period_of(cmd.period)
    return build_report(period, [e async for e in queries.all_events(conn)])


async def export_count(conn: asyncpg.Connection, cmd: ExportEvents) -> int:
    return await queries.export_count(conn, period_of(cmd.period) if cmd.period else None, cmd.topics)


def export(conn: asyncpg.Connection, cmd: ExportEvents) -> AsyncIterator[dict[str, Any]]:
    """The events, one dict each (the `/events` line format, see adapters.queries.export)."""
    return queries.export(conn, period_of(cmd.period) if cmd.period else None, cmd.topics)


async def application_at(conn: asyncpg.Connection, cmd: ApplicationAt, *, clock: SeoulClock) -> dict[str, Any]:
    """One loan application as the ledger knew it at the moment asked (NotFound if it did not exist yet)."""
    moment = as_of(cmd.at, clock.now())
    state = application_state(cmd.application_id, await queries.application_events(conn, cmd.application_id, moment), moment)
    if state is None:
        raise NotFound(
            "No such application at that time",
            f"the ledger has no event of application {cmd.application_id} up to {moment.isoformat()}",
        )
    return state
