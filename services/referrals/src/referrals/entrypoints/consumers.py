"""Referrals' event handlers, thin: the rules fed by visits' and loans' events, consent and
erasure from intake's, and the directory of businesses (service_layer/directory.py)."""

from __future__ import annotations

from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, BusinessStageChanged, ConsentGiven, ConsentWithdrawn
from sangsaeng_common.contracts.loans import GuaranteeRequested
from sangsaeng_common.contracts.visits import VisitRecorded
from referrals.service_layer import directory, handlers as service
from referrals.service_layer.handlers import Deps


def handlers(deps: Deps) -> Handlers:
    registry = Handlers("referrals")

    @registry.on(VisitRecorded)
    async def refer_from_visit(ctx: EventContext, event: VisitRecorded) -> None:
        await service.on_visit(ctx, deps, event, ctx.envelope.id)

    @registry.on(GuaranteeRequested)
    async def refer_guarantee(ctx: EventContext, event: GuaranteeRequested) -> None:
        await service.on_guarantee(ctx, deps, event, ctx.envelope.id)

    @registry.on(ConsentGiven)
    async def consent_given(ctx: EventContext, event: ConsentGiven) -> None:
        await service.on_consent_given(ctx, deps, event)

    @registry.on(ConsentWithdrawn)
    async def consent_withdrawn(ctx: EventContext, event: ConsentWithdrawn) -> None:
        await service.on_consent_withdrawn(ctx, event)

    @registry.on(BusinessErased)
    async def forget_owner(ctx: EventContext, event: BusinessErased) -> None:
        await service.forget_business(ctx, event)  # marks the directory's row erased too

    # ------------------------------------------------------------ the directory of businesses

    @registry.on(BusinessRegistered)
    async def remember_business(ctx: EventContext, event: BusinessRegistered) -> None:
        await directory.remember(ctx, event)

    @registry.on(BusinessStageChanged)
    async def follow_stage(ctx: EventContext, event: BusinessStageChanged) -> None:
        await directory.follow_stage(ctx, event)

    return registry
