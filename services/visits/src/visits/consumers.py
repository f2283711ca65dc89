"""Visits' event handlers: its directory of businesses kept from intake's events, visits
scheduled from support requests, and erasure."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

import asyncpg

from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, BusinessStageChanged, SupportRequested
from visits import handlers as commands
from visits.config import policy

handlers = Handlers("visits")


@handlers.on_batch(BusinessRegistered, BusinessStageChanged)
async def keep_directory(conn: asyncpg.Connection, events: list[tuple[EventContext, Any]]) -> None:
    """A run of registrations and stage changes, a few statements for the lot. Registrations
    go first: on its partition, a business's registration always precedes its changes."""
    registered = [event for _, event in events if isinstance(event, BusinessRegistered)]
    changes = [(ctx, event) for ctx, event in events if isinstance(event, BusinessStageChanged)]
    if registered:
        await conn.execute(
            """insert into businesses (id, registration_number, name, dong, industry, employees, is_micro_business, stage, registered_on)
               select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bool[], $8::text[], $9::date[])""",
            *map(list, zip(*[(e.business_id, e.registration_number, e.name, e.dong, e.industry, e.employees, e.is_micro_business,
                              e.stage.value, e.registered_on) for e in registered])),
        )
        # In one order (by dong) in every transaction: two batches counting the same dongs
        # at once then wait for each other instead of deadlocking.
        per_dong = dict(sorted(Counter(e.dong for e in registered).items()))
        await conn.execute(
            """insert into dong_business_counts (dong, businesses) select * from unnest($1::text[], $2::int[])
               on conflict (dong) do update set businesses = dong_business_counts.businesses + excluded.businesses""",
            list(per_dong), list(per_dong.values()),
        )
    if changes:
        latest = {event.business_id: event.to_stage.value for _, event in changes}  # the last change of each business wins
        await conn.execute(
            """update businesses b set stage = c.stage, updated_at = now()
               from unnest($1::uuid[], $2::text[]) as c(id, stage) where b.id = c.id""",
            list(latest), list(latest.values()),
        )
        # Each change takes the next position of its business: after those stored, in log order.
        nth: Counter[UUID] = Counter()
        rows = []
        for ctx, event in changes:
            nth[event.business_id] += 1
            rows.append((event.business_id, nth[event.business_id], event.from_stage.value, event.to_stage.value, event.changed_on, ctx.envelope.id))
        await conn.execute(
            """insert into business_stage_history (business_id, position, from_stage, to_stage, changed_on, event_id)
               select c.business_id, coalesce((select max(position) from business_stage_history h where h.business_id = c.business_id), 0) + c.nth,
                      c.from_stage, c.to_stage, c.changed_on, c.event_id
               from unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::date[], $6::uuid[])
                    as c(business_id, nth, from_stage, to_stage, changed_on, event_id)""",
            *map(list, zip(*rows)),
        )


@handlers.on(SupportRequested)
async def schedule_requested_visit(ctx: EventContext, event: SupportRequested) -> None:
    await commands.schedule_from_request(ctx, policy(), event)


@handlers.on(BusinessErased)
async def forget_owner(ctx: EventContext, event: BusinessErased) -> None:
    await commands.erase_business(ctx, event)
