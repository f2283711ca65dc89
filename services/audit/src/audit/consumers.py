"""The ledger's only writer: every event of every `sangsaeng.<service>.events` topic."""

from __future__ import annotations

import asyncpg

from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts import Event

from audit.ledger import append

EVERY_EVENTS_TOPIC = r"^sangsaeng\.[a-z_]+\.events$"

handlers = Handlers("audit", topic_pattern=EVERY_EVENTS_TOPIC, keep_unknown_types=True)


@handlers.on_any_batch
async def record(conn: asyncpg.Connection, events: list[tuple[EventContext, Event | None]]) -> None:
    await append(conn, [(ctx.envelope, ctx.record) for ctx, _ in events])
