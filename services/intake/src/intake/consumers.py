"""Intake's event handlers: the business timeline, fed by every service's events topic."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from intake.domain import timeline as rules
from intake.handlers import scrub_timeline
from sangsaeng_common.consumer import EventContext, Handlers
from sangsaeng_common.contracts import Event
from sangsaeng_common.contracts.intake import BusinessErased

# Every `sangsaeng.<service>.events` topic, including those of services that start
# publishing later (not the DLQs, nor the agency-facing topics).
# Events of types this build has no contract for yet are kept too (from their envelope),
# so a new service's events reach the timeline before intake is redeployed.
timeline = Handlers("intake-timeline", topic_pattern=r"^sangsaeng\.[a-z_]+\.events$", keep_unknown_types=True)


def _about(ctx: EventContext, event: Event | None) -> tuple[UUID | None, dict[str, Any]]:
    if event is not None:
        return getattr(event, "business_id", None), event.model_dump(mode="json")
    try:
        data = json.loads(ctx.envelope.data)
        return UUID(ctx.envelope.subject), data if isinstance(data, dict) else {"value": data}
    except ValueError:
        return None, {}


async def _record(ctx: EventContext, event: Event | None) -> UUID | None:
    business_id, data = _about(ctx, event)
    if business_id is None:  # not about one business: not on any timeline
        return None
    # FOR SHARE: an erasure of this business either committed before (we see its time and
    # blank this event's free text if it happened before the erasure) or waits for us
    # (and then scrubs the row we add). Unknown businesses are still recorded.
    erased_at = await ctx.conn.fetchval("select erased_at from businesses where id = $1 for share", business_id)
    if erased_at is not None and ctx.envelope.time <= erased_at:
        data = rules.scrub(data)
    await ctx.conn.execute(
        """insert into timeline (event_id, business_id, event_type, source, occurred_at, summary, data)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict (event_id) do nothing""",
        ctx.envelope.id, business_id, ctx.envelope.type, ctx.envelope.source, ctx.envelope.time,
        rules.summarize(ctx.envelope.type, data), data,
    )
    return business_id


@timeline.on_any
async def record_on_timeline(ctx: EventContext, event: Event | None) -> None:
    await _record(ctx, event)


@timeline.on(BusinessErased)
async def record_erasure(ctx: EventContext, event: BusinessErased) -> None:
    # The erasing command scrubbed the live timeline already; this makes a timeline
    # rebuilt from the log come out the same.
    await _record(ctx, event)
    await scrub_timeline(ctx.conn, event.business_id, event.erased_at)
