"""Audit's use cases: record events in the ledger, verify it, report on it, export it, fold one
application. Each takes the connection it works on, calls the domain rules and the adapters,
and raises only sangsaeng_common.errors (the entrypoints map them to problem+json or to exit codes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

import asyncpg

from audit.adapters import ledger, queries
from audit.domain.application import application_state, as_of
from audit.domain.business_date import business_date
from audit.domain.events import LedgerEvent
from audit.domain.period import Period, parse_period
from audit.domain.report import build_report
from audit.domain.rules import check_rules
from audit.service_layer import log
from audit.service_layer.log import LogKeys
from audit.service_layer.commands import ApplicationAt, ExportEvents, ExportLog, Record, Report, Verify
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
    conn: asyncpg.Connection, cmd: Verify, *, limits: dict[str, dict[str, int]], clock: SeoulClock, keys: LogKeys
) -> dict[str, Any]:
    """Check the log (every entry's bytes against its leaf, the tree, every signed checkpoint),
    then the cross-service rules over every event: all of it in one snapshot, so that an
    append committing meanwhile is either wholly seen (head, entries, nodes) or not at all."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        checked = await log.check_log(conn, keys)
        events = [e async for e in queries.all_events(conn)]
    findings = check_rules(events, limits)
    return {
        "ok": checked["first_broken"] is None and not checked["checkpoints"]["findings"] and not findings,
        "checked_at": clock.now().isoformat(),
        "log": checked,
        "rules": {"events_checked": len(events), "findings": [asdict(f) | {"related": list(f.related)} for f in findings]},
    }


async def report(conn: asyncpg.Connection, cmd: Report) -> dict[str, Any]:
    period = period_of(cmd.period)
    return build_report(period, [e async for e in queries.all_events(conn)])


def in_period(period: Period | None) -> Callable[[dict[str, Any]], bool]:
    """Does an exported event (an `/events` line) fall in the period, by its business date (the report's rule)?"""
    if period is None:
        return lambda _: True

    def test(line: dict[str, Any]) -> bool:
        event = LedgerEvent.newest(line["position"], line["event_id"], line["type"], line["subject"], datetime.fromisoformat(line["time"]),
                                   line["data"])
        return business_date(event) in period

    return test


async def export_count(conn: asyncpg.Connection, cmd: ExportEvents) -> int:
    selected = in_period(period_of(cmd.period) if cmd.period else None)
    return sum([1 async for line in queries.export(conn, cmd.topics) if selected(line)])


async def export(conn: asyncpg.Connection, cmd: ExportEvents) -> AsyncIterator[dict[str, Any]]:
    """The events, one dict each (the `/events` line format, see adapters.queries.export), of
    the period by business date (audit.domain.business_date)."""
    selected = in_period(period_of(cmd.period) if cmd.period else None)
    async for line in queries.export(conn, cmd.topics):
        if selected(line):
            yield line


EXPORT_FORMAT = "sangsaeng-ledger-export/1"


async def export_log(
    conn: asyncpg.Connection, cmd: ExportLog, keys: LogKeys
) -> tuple[dict[str, Any], AsyncIterator[tuple[bytes, dict[str, Any] | None]]]:
    """An export an outside auditor verifies alone (contracts/ledger.md): its manifest (the
    selection, the covering and latest checkpoints' notes, the consistency proof between them)
    and its entries, each (exact bytes, its `{"index", "inclusion"}` proof in the covering tree
    or None when the export is that tree whole). The period is selected by business date, as
    the report counts. With a signing key, a fresh checkpoint is made first."""
    period = period_of(cmd.period) if cmd.period else None
    if keys.signer is not None:
        async with conn.transaction():
            await log.make_checkpoint(conn, keys)
    latest = await log.latest(conn)
    selected = in_period(period)
    found = [line["index"] async for line in queries.export(conn) if selected(line)]
    indexes = [i for i in found if i < latest["tree_size"]]
    bundle = await log.export_bundle(conn, indexes, whole=period is None)
    covering, whole = bundle["covering"], bundle["whole"]
    manifest = {
        "format": EXPORT_FORMAT,
        "origin": keys.origin,
        "period": cmd.period,
        "selection": "business date (Asia/Seoul), see contracts/ledger.md" if period else "every entry of the covering tree",
        "entries": len(indexes),
        "whole": whole,
        "tree_size": covering.tree_size,
        "checkpoint": covering.note,
        "latest_checkpoint": bundle["latest"].note,
        "consistency": {"from": covering.tree_size, "to": bundle["latest"].tree_size, "proof": bundle["consistency"]},
        "not_yet_checkpointed": len(found) - len(indexes),
        "verifier_key": str(keys.verifiers[0]) if keys.verifiers else None,
    }

    async def lines() -> AsyncIterator[tuple[bytes, dict[str, Any] | None]]:
        for start in range(0, len(indexes), 1000):
            chunk = indexes[start:start + 1000]
            rows = await queries.entries_at(conn, chunk)
            proofs = [None] * len(rows) if whole else await log.inclusion_proofs(conn, chunk, covering.tree_size)
            for (index, raw), proof in zip(rows, proofs):
                yield raw, (None if proof is None else {"index": index, "inclusion": proof})

    return manifest, lines()


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
