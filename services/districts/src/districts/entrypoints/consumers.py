"""Districts' event handlers, thin: the directory of businesses from intake's events, and a
member's stage change (a closure) counted against its districts' rule."""

from __future__ import annotations

from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, BusinessStageChanged
from sangsaeng_common.handlers import EventContext, Handlers
from districts.service_layer import directory, handlers as service
from districts.service_layer.handlers import Deps


def handlers(deps: Deps) -> Handlers:
    registry = Handlers("districts")

    @registry.on(BusinessRegistered)
    async def remember_business(ctx: EventContext, event: BusinessRegistered) -> None:
        await directory.remember(ctx, event)

    @registry.on(BusinessStageChanged)
    async def follow_stage(ctx: EventContext, event: BusinessStageChanged) -> None:
        await directory.follow_stage(ctx, event)
        await service.on_stage_changed(ctx, deps, event)

    @registry.on(BusinessErased)
    async def forget_business(ctx: EventContext, event: BusinessErased) -> None:
        await directory.mark_erased(ctx, event)

    return registry
