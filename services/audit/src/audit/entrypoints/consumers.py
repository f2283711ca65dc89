"""The ledger's only writer: every event of every `sangsaeng.<service>.events` topic; and the
checkpoint signer that runs next to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg

from audit.service_layer import handlers as use_cases
from audit.service_layer import log
from audit.service_layer.commands import Record
from audit.service_layer.log import LogKeys
from sangsaeng_common.logging import get_logger
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts import Event

logger = get_logger(__name__)
EVERY_EVENTS_TOPIC = r"^sangsaeng\.[a-z_]+\.events$"


def handlers() -> Handlers:
    """The consumer's registry: each batch, whatever its event types (even unknown ones), is
    appended whole, in order, in the batch's inbox transaction."""
    registry = Handlers("audit", topic_pattern=EVERY_EVENTS_TOPIC, keep_unknown_types=True)

    @registry.on_any_batch
    async def record(conn: asyncpg.Connection, events: list[tuple[EventContext, Event | None]]) -> None:
        await use_cases.record(conn, Record([(ctx.envelope, ctx.record) for ctx, _ in events]))

    return registry


def checkpoints_task(keys: LogKeys, interval_s: float) -> Callable[[Runtime, asyncio.Event], Awaitable[None]]:
    """The checkpoint signer, next to the consumer: every `interval_s` while entries arrive it
    signs the tree, stores the note and publishes it (`sangsaeng.audit.checkpoints`). Every
    replica runs it; one at a time signs (make_checkpoint's lock)."""

    async def sign_checkpoints(runtime: Runtime, stop: asyncio.Event) -> None:
        if keys.signer is None:
            raise RuntimeError("audit needs a signing key to checkpoint its ledger: set AUDIT_SIGNING_KEY_FILE")
        while not stop.is_set():
            try:
                async with runtime.pool.acquire() as conn, conn.transaction():
                    await log.make_checkpoint(conn, keys)
            except Exception as exc:  # noqa: BLE001 - a database outage: try again next round
                logger.warning("checkpoint failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    return sign_checkpoints
