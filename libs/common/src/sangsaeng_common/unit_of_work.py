"""One command, one transaction: its effects and its events commit together or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import asyncpg

from sangsaeng_common import outbox, tracing
from sangsaeng_common.contracts import Event
from sangsaeng_common.envelope import Envelope


class UnitOfWork:
    """`async with uow:` opens a transaction that rolls back unless `commit()` is called.

    `correlation_id`, `traceparent` and `actor` are what the events it emits carry when no span is
    current (the caller's: a request's headers, say); the unit of work reads no context.

    `one_statement=True`: a command whose only write is one statement with its event
    (`emit_with`) runs without BEGIN and COMMIT, since one statement is atomic by itself:
    one round trip instead of four. Such a unit of work refuses `emit` and any use of its
    connection after that write (it would not be atomic with it); reads before it are fine."""

    def __init__(
        self, pool: asyncpg.Pool, *, correlation_id: str | None = None, traceparent: str | None = None, actor: str | None = None,
        one_statement: bool = False,
    ):
        self._pool = pool
        self.correlation_id = correlation_id
        self.traceparent = traceparent
        self.actor = actor  # the subject id of who gave the command
        self._conn: asyncpg.Connection | None = None
        self._tx: asyncpg.transaction.Transaction | None = None
        self._committed = False
        self._one_statement = one_statement
        self._written = False  # a one-statement unit of work has made its write
        self.events: list[Envelope] = []

    @property
    def conn(self) -> asyncpg.Connection:
        assert self._conn is not None, "use the unit of work inside `async with`"
        if self._written:
            raise RuntimeError("this one-statement unit of work has written already: a second statement would not be atomic with it")
        return self._conn

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self._pool.acquire()
        if not self._one_statement:
            self._tx = self._conn.transaction()
            await self._tx.start()
        return self

    async def emit_with(self, effect: str, effect_args: Sequence[object], event: Event) -> list[asyncpg.Record]:
        """`effect` (a write … RETURNING) and, if it returned rows, `event`, in one statement
        (outbox.add_with); the effect's rows."""
        rows, envelope = await outbox.add_with(
            self.conn, effect, effect_args, event, correlation_id=self.correlation_id,
            traceparent=tracing.current_traceparent() or self.traceparent, actor=self.actor,
        )
        if envelope is not None:
            self.events.append(envelope)
            self._written = self._one_statement
        return rows

    async def emit(self, event: Event, *, topic: str | None = None, envelope: Envelope | None = None) -> Envelope:
        if self._one_statement:
            raise RuntimeError("a one-statement unit of work emits with its write (emit_with), never on its own")
        envelope = await outbox.add(
            self.conn, event, correlation_id=self.correlation_id, traceparent=tracing.current_traceparent() or self.traceparent,
            actor=self.actor, topic=topic, envelope=envelope,
        )
        self.events.append(envelope)
        return envelope

    async def commit(self) -> None:
        if self._tx is not None:  # a one-statement unit of work committed with its statement
            await self._tx.commit()
        self._committed = True

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if not self._committed and self._tx is not None and not self._conn.is_closed():
                await self._tx.rollback()
        finally:
            if self._conn is not None:
                await self._pool.release(self._conn)
            self._conn = None
