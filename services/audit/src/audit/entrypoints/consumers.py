"""The ledger's only writer: every event of every `sangsaeng.<service>.events` topic."""

from __future__ import annotations

import asyncpg

from audit.service_layer import handlers as use_cases
from audit.service_layer.commands import Record
from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts import Event

EVERY_EVENTS_TOPIC = r"^sangsaeng\.[a-z_]+\.events$"


def handlers() -> Handlers:
    """The consumer's registry: each batch, whatever its event types (even unknown ones), is
    appended whole, in order, in the batch's inbox transaction."""
    registry = Handlers("audit", topic_pattern=EVERY_EVENTS_TOPIC, keep_unknown_types=True)

    @registry.on_any_batch
    async def record(conn: asyncpg.Connection, events: list[tuple[EventContext, Event | None]]) -> None:
        await use_cases.record(conn, Record([(ctx.envelope, ctx.record) for ctx, _ in events]))

    return registry
