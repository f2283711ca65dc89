"""Intake's event handlers: the business timeline, fed by every service's events topic.

Thin: decode what the timeline keeps of an event, then hand it to the service layer."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from intake.service_layer import handlers as service
from intake.service_layer.commands import TimelineEvent
from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts import Event
from sangsaeng_common.contracts.intake import BusinessErased


def _about(ctx: EventContext, event: Event | None) -> tuple[UUID | None, dict[str, Any]]:
    if event is not None:
        return getattr(event, "business_id", None), event.model_dump(mode="json")
    try:
        data = json.loads(ctx.envelope.data)
        return UUID(ctx.envelope.subject), data if isinstance(data, dict) else {"value": data}
    except ValueError:
        return None, {}


def _decode(events: list[tuple[EventContext, Event | None]]) -> list[TimelineEvent]:
    """The events that are about a business, as the timeline keeps them (others: on no timeline)."""
    decoded = []
    for ctx, event in events:
        business_id, data = _about(ctx, event)
        if business_id is not None:
            envelope = ctx.envelope
            decoded.append(TimelineEvent(envelope.id, business_id, envelope.type, envelope.source, envelope.time, data))
    return decoded


def timeline() -> Handlers:
    """The timeline's consumer (it needs nothing but each event's transaction)."""
    # Every `sangsaeng.<service>.events` topic, including those of services that start
    # publishing later (not the DLQs, nor the agency-facing topics).
    # Events of types this build has no contract for yet are kept too (from their envelope),
    # so a new service's events reach the timeline before intake is redeployed.
    handlers = Handlers("intake-timeline", topic_pattern=r"^sangsaeng\.[a-z_]+\.events$", keep_unknown_types=True)

    @handlers.on_any_batch
    async def record_on_timeline(conn: asyncpg.Connection, events: list[tuple[EventContext, Event | None]]) -> None:
        await service.record_on_timeline(conn, _decode(events))

    @handlers.on(BusinessErased)
    async def record_erasure(ctx: EventContext, event: BusinessErased) -> None:
        [entry] = _decode([(ctx, event)])  # an erasure is always about a business
        await service.record_erasure_on_timeline(ctx.conn, entry, event.erased_at)

    return handlers
