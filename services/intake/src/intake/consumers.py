"""Intake's event handlers: the business timeline, fed by every service's events topic."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from intake.domain import timeline as rules
from intake.handlers import scrub_timeline
from sangsaeng_common.handlers import EventContext, Handlers
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


async def _record(conn: asyncpg.Connection, events: list[tuple[EventContext, Event | None]]) -> None:
    """Put events on their businesses' timelines: one lookup and one insert for the lot."""
    about = [(ctx, *_about(ctx, event)) for ctx, event in events]
    about = [(ctx, business_id, data) for ctx, business_id, data in about if business_id is not None]  # others: on no timeline
    if not about:
        return
    # FOR SHARE: an erasure of these businesses either committed before (we see its time and
    # blank an event's free text if it happened before the erasure) or waits for us
    # (and then scrubs the rows we add). Unknown businesses are still recorded.
    erased = dict(await conn.fetch(
        "select id, erased_at from businesses where id = any($1::uuid[]) order by id for share",
        list({business_id for _, business_id, _ in about}),
    ))
    rows = []
    for ctx, business_id, data in about:
        erased_at = erased.get(business_id)
        if erased_at is not None and ctx.envelope.time <= erased_at:
            data = rules.scrub(data)
        rows.append((ctx.envelope.id, business_id, ctx.envelope.type, ctx.envelope.source, ctx.envelope.time,
                     rules.summarize(ctx.envelope.type, data), data))
    await conn.executemany(
        """insert into timeline (event_id, business_id, event_type, source, occurred_at, summary, data)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict (event_id) do nothing""",
        rows,
    )


@timeline.on_any_batch
async def record_on_timeline(conn: asyncpg.Connection, events: list[tuple[EventContext, Event | None]]) -> None:
    await _record(conn, events)


@timeline.on(BusinessErased)
async def record_erasure(ctx: EventContext, event: BusinessErased) -> None:
    # The erasing command scrubbed the live timeline already; this makes a timeline
    # rebuilt from the log come out the same.
    await _record(ctx.conn, [(ctx, event)])
    await scrub_timeline(ctx.conn, event.business_id, event.erased_at)
