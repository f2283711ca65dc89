"""Visits' event handlers: its directory of businesses kept from intake's events, visits
scheduled from support requests, and erasure."""

from __future__ import annotations

from sangsaeng_common.consumer import EventContext, Handlers
from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, BusinessStageChanged, SupportRequested
from visits import handlers as commands
from visits.config import policy

handlers = Handlers("visits")


@handlers.on(BusinessRegistered)
async def remember_business(ctx: EventContext, event: BusinessRegistered) -> None:
    await ctx.conn.execute(
        """insert into businesses (id, registration_number, name, dong, industry, employees, is_micro_business, stage, registered_on)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        event.business_id, event.registration_number, event.name, event.dong, event.industry,
        event.employees, event.is_micro_business, event.stage.value, event.registered_on,
    )
    await ctx.conn.execute(
        """insert into dong_business_counts (dong, businesses) values ($1, 1)
           on conflict (dong) do update set businesses = dong_business_counts.businesses + 1""",
        event.dong,
    )


@handlers.on(BusinessStageChanged)
async def follow_stage(ctx: EventContext, event: BusinessStageChanged) -> None:
    await ctx.conn.execute(
        "update businesses set stage = $2, updated_at = now() where id = $1", event.business_id, event.to_stage.value
    )
    await ctx.conn.execute(
        """insert into business_stage_history (business_id, position, from_stage, to_stage, changed_on, event_id)
           select $1, coalesce(max(position), 0) + 1, $2, $3, $4, $5 from business_stage_history where business_id = $1""",
        event.business_id, event.from_stage.value, event.to_stage.value, event.changed_on, ctx.envelope.id,
    )


@handlers.on(SupportRequested)
async def schedule_requested_visit(ctx: EventContext, event: SupportRequested) -> None:
    await commands.schedule_from_request(ctx, policy(), event)


@handlers.on(BusinessErased)
async def forget_owner(ctx: EventContext, event: BusinessErased) -> None:
    await commands.erase_business(ctx, event)
