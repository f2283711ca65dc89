"""The transaction a handler works in: a command's unit of work or a consumer's event
context. Both hold one connection inside one transaction and emit through the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import asyncpg

    from sangsaeng_common.contracts import Event
    from sangsaeng_common.envelope import Envelope


class Tx(Protocol):
    @property
    def conn(self) -> asyncpg.Connection: ...

    @property
    def actor(self) -> str | None:
        """The subject id of who caused the work (a command's caller, an event's ce_actor)."""
        ...

    async def emit(self, event: Event) -> Envelope: ...

    async def emit_with(self, effect: str, effect_args: Sequence[object], event: Event) -> list[asyncpg.Record]:
        """A write (… RETURNING) and, if it returned rows, its event, in one statement."""
        ...
