"""One command, one transaction: its effects and its events commit together or not at all."""

from __future__ import annotations

from types import TracebackType

import asyncpg

from sangsaeng_common import outbox, tracing
from sangsaeng_common.contracts import Event
from sangsaeng_common.envelope import Envelope


class UnitOfWork:
    """`async with uow:` opens a transaction that rolls back unless `commit()` is called.

    `correlation_id`, `traceparent` and `actor` are what the events it emits carry when no span is
    current (the caller's: a request's headers, say); the unit of work reads no context."""

    def __init__(
        self, pool: asyncpg.Pool, *, correlation_id: str | None = None, traceparent: str | None = None, actor: str | None = None
    ):
        self._pool = pool
        self.correlation_id = correlation_id
        self.traceparent = traceparent
        self.actor = actor  # the subject id of who gave the command
        self._conn: asyncpg.Connection | None = None
        self._tx: asyncpg.transaction.Transaction | None = None
        self._committed = False
        self.events: list[Envelope] = []

    @property
    def conn(self) -> asyncpg.Connection:
        assert self._conn is not None, "use the unit of work inside `async with`"
        return self._conn

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self._pool.acquire()
        self._tx = self._conn.transaction()
        await self._tx.start()
        return self

    async def emit(self, event: Event, *, topic: str | None = None, envelope: Envelope | None = None) -> Envelope:
        envelope = await outbox.add(
            self.conn, event, correlation_id=self.correlation_id, traceparent=tracing.current_traceparent() or self.traceparent,
            actor=self.actor, topic=topic, envelope=envelope,
        )
        self.events.append(envelope)
        return envelope

    async def commit(self) -> None:
        assert self._tx is not None
        await self._tx.commit()
        self._committed = True

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if not self._committed and self._tx is not None and not self._conn.is_closed():
                await self._tx.rollback()
        finally:
            await self._pool.release(self._conn)
            self._conn = None
