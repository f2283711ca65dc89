"""Referrals' event handlers: the rules fed by visits' and loans' events, consent and
erasure from intake's, and a small directory of businesses."""

from __future__ import annotations

from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, BusinessStageChanged, ConsentGiven, ConsentWithdrawn
from sangsaeng_common.contracts.loans import GuaranteeRequested
from sangsaeng_common.contracts.visits import VisitRecorded
from referrals import handlers as commands
from referrals.config import policy

handlers = Handlers("referrals")


@handlers.on(VisitRecorded)
async def refer_from_visit(ctx: EventContext, event: VisitRecorded) -> None:
    await commands.on_visit(ctx, policy(), event, ctx.envelope.id)


@handlers.on(GuaranteeRequested)
async def refer_guarantee(ctx: EventContext, event: GuaranteeRequested) -> None:
    await commands.on_guarantee(ctx, policy(), event, ctx.envelope.id)


@handlers.on(ConsentGiven)
async def consent_given(ctx: EventContext, event: ConsentGiven) -> None:
    await commands.on_consent_given(ctx, event)


@handlers.on(ConsentWithdrawn)
async def consent_withdrawn(ctx: EventContext, event: ConsentWithdrawn) -> None:
    await commands.on_consent_withdrawn(ctx, event)


@handlers.on(BusinessRegistered)
async def remember_business(ctx: EventContext, event: BusinessRegistered) -> None:
    await commands.on_business_registered(ctx, event)


@handlers.on(BusinessStageChanged)
async def follow_stage(ctx: EventContext, event: BusinessStageChanged) -> None:
    # Keeps the directory's stage true. The row exists: intake publishes a business's
    # registration before its stage changes, on the same partition.
    await ctx.conn.execute("update businesses set stage = $2, updated_at = now() where id = $1", event.business_id, event.to_stage.value)


@handlers.on(BusinessErased)
async def forget_owner(ctx: EventContext, event: BusinessErased) -> None:
    await commands.on_business_erased(ctx, event)
