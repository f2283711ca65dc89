"""The handler registry: what a consumer does with each event type.

    handlers = Handlers("<consumer>")

    @handlers.on(SomethingObserved)
    async def remember(ctx: EventContext, event: SomethingObserved) -> None:
        await ctx.conn.execute(...)        # the effect, in the inbox transaction
        await ctx.emit(SomethingHappened(...))  # follow-up event, same transaction

An `EventConsumer` (consumer.py) runs them live, `replay` over the log again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka.structs import ConsumerRecord

from sangsaeng_common import outbox, tracing
from sangsaeng_common.contracts import Event, consumer_group, dlq_topic
from sangsaeng_common.envelope import Envelope


@dataclass
class EventContext:
    """What a handler gets besides its event: the transaction's connection and a way
    to emit follow-up events caused by this one."""

    conn: asyncpg.Connection
    envelope: Envelope
    record: ConsumerRecord

    @property
    def actor(self) -> str | None:
        """Who the event's cause was commanded by (its ce_actor): what the follow-ups carry too."""
        return self.envelope.actor

    async def emit(self, event: Event, *, topic: str | None = None, envelope: Envelope | None = None) -> Envelope:
        return await outbox.add(
            self.conn,
            event,
            correlation_id=self.envelope.correlation_id,
            causation_id=str(self.envelope.id),
            traceparent=tracing.current_traceparent() or self.envelope.traceparent,
            actor=self.envelope.actor,
            topic=topic,
            envelope=envelope,
        )

    async def emit_with(self, effect: str, effect_args: Sequence[object], event: Event) -> list[asyncpg.Record]:
        rows, _ = await outbox.add_with(
            self.conn, effect, effect_args, event, correlation_id=self.envelope.correlation_id, causation_id=str(self.envelope.id),
            traceparent=tracing.current_traceparent() or self.envelope.traceparent, actor=self.envelope.actor,
        )
        return rows


Handler = Callable[[EventContext, Any], Awaitable[None]]
# Takes a run of consecutive events at once, e.g. to write them in one statement; it must
# give the same result as taking them one at a time (it is, when an event of the batch
# fails and the batch is redone event by event to find it).
BatchHandler = Callable[[asyncpg.Connection, list[tuple[EventContext, Any]]], Awaitable[None]]


@dataclass
class Handlers:
    consumer: str  # names the consumer group, the inbox rows and the DLQ topic
    by_type: dict[type[Event], Handler] = field(default_factory=dict)
    # Subscribe by pattern instead of by the handled types' topics, e.g. every
    # `sangsaeng.<service>.events` topic, including those created later.
    topic_pattern: str | None = None
    # Called for a known event that has no handler of its own (with topic_pattern).
    fallback: Handler | None = None
    # Also give the fallback well-formed events of types this code does not know (as
    # event=None, the envelope whole): for a ledger that must keep every event.
    keep_unknown_types: bool = False
    batched: set[Callable[..., Awaitable[None]]] = field(default_factory=set)  # the batch handlers

    def on_any(self, handler: Handler) -> Handler:
        if self.fallback is not None:
            raise ValueError(f"{self.consumer} has a fallback handler already")
        self.fallback = handler
        return handler

    def on_batch(self, *event_types: type[Event]) -> Callable[[BatchHandler], BatchHandler]:
        """One batch handler for runs of consecutive events of these types (see BatchHandler)."""

        def register(handler: BatchHandler) -> BatchHandler:
            for event_type in event_types:
                self.on(event_type)(handler)  # type: ignore[arg-type]
            self.batched.add(handler)
            return handler

        return register

    def on_any_batch(self, handler: BatchHandler) -> BatchHandler:
        """Like `on_any`, for a handler that takes runs of events at once (see BatchHandler)."""
        self.on_any(handler)  # type: ignore[arg-type]
        self.batched.add(handler)
        return handler

    def on(self, event_type: type[Event]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if event_type in self.by_type:
                raise ValueError(f"{self.consumer} handles {event_type.ce_type()} twice")
            self.by_type[event_type] = handler
            return handler

        return register

    @property
    def topics(self) -> list[str]:
        return sorted({t.topic() for t in self.by_type})

    @property
    def dlq_topic(self) -> str:
        return dlq_topic(self.consumer)

    @property
    def group_id(self) -> str:
        return consumer_group(self.consumer)
