"""Districts' event handlers, thin: the directory of businesses (the shared projection
sangsaeng_common.directory, declared here), and a member's stage change (a closure) counted
against its districts' rule, in the same inbox transaction."""

from __future__ import annotations

from sangsaeng_common.contracts.intake import BusinessErased, BusinessStageChanged
from sangsaeng_common.directory import ERASED, BusinessDirectory, Erasure
from sangsaeng_common.handlers import EventContext, Handlers
from districts.service_layer import handlers as service
from districts.service_layer.handlers import Deps


def directory(deps: Deps) -> BusinessDirectory:
    """What districts keeps of intake's businesses: name (a shop's, blanked on erasure), dong, stage;
    an erasure also blanks the words given when the business's store left a district."""

    async def recount(ctx: EventContext, event: BusinessStageChanged) -> None:
        await service.on_stage_changed(ctx, deps, event)

    async def forget(ctx: EventContext, event: BusinessErased) -> None:
        await service.forget_business(ctx, event.business_id)

    return BusinessDirectory(columns=("name", "dong", "stage"), erasure=Erasure(blank={"name": ERASED}), on_stage_changed=recount,
                             on_erased=forget)


def handlers(deps: Deps) -> Handlers:
    registry = Handlers("districts")
    directory(deps).register(registry)
    return registry
