"""Referrals' event handlers, thin: the rules fed by visits', the desk's (intake's SupportRequested)
and loans' events, consent and
erasure from intake's, and the directory of businesses (the shared projection
sangsaeng_common.directory, declared here)."""

from __future__ import annotations

from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts.intake import ConsentGiven, ConsentWithdrawn, SupportRequested
from sangsaeng_common.contracts.loans import GuaranteeRequested
from sangsaeng_common.contracts.visits import VisitRecorded
from sangsaeng_common.directory import BusinessDirectory, Erasure
from referrals.service_layer import directory, handlers as service
from referrals.service_layer.handlers import Deps


# What referrals keeps of intake's businesses (no personal data): an erasure blanks nothing
# here; it marks the business erased, under the business's lock, and erases its referrals.
DIRECTORY = BusinessDirectory(
    columns=("dong", "industry", "stage"),
    erasure=Erasure(blank={}),
    before_erased=directory.lock_before_erasure,
    on_erased=service.forget_business,
)


def handlers(deps: Deps) -> Handlers:
    registry = Handlers("referrals")
    DIRECTORY.register(registry)

    @registry.on(VisitRecorded)
    async def refer_from_visit(ctx: EventContext, event: VisitRecorded) -> None:
        await service.on_visit(ctx, deps, event, ctx.envelope.id)

    @registry.on(SupportRequested)
    async def refer_from_support_request(ctx: EventContext, event: SupportRequested) -> None:
        await service.on_support_request(ctx, deps, event, ctx.envelope.id)

    @registry.on(GuaranteeRequested)
    async def refer_guarantee(ctx: EventContext, event: GuaranteeRequested) -> None:
        await service.on_guarantee(ctx, deps, event, ctx.envelope.id)

    @registry.on(ConsentGiven)
    async def consent_given(ctx: EventContext, event: ConsentGiven) -> None:
        await service.on_consent_given(ctx, deps, event)

    @registry.on(ConsentWithdrawn)
    async def consent_withdrawn(ctx: EventContext, event: ConsentWithdrawn) -> None:
        await service.on_consent_withdrawn(ctx, event)

    return registry
