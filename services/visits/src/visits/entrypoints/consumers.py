"""Visits' event handlers (consumer group `sangsaeng.visits`), thin: decode, then hand the
event to the service layer.

Its directory of businesses is the shared projection (sangsaeng_common.directory) of
intake's BusinessRegistered / BusinessStageChanged / BusinessErased, declared here with
visits' effects of its own: dong counts on registration (moved when a business changes
dong), and on erasure the visits' free text forgotten and their open visits cancelled."""

from __future__ import annotations

from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts.intake import BusinessErased, SupportRequested
from sangsaeng_common.directory import ERASED, BusinessDirectory, Erasure
from visits.config import VisitPolicy
from visits.service_layer import handlers as service
from visits.service_layer.commands import ForgetBusiness, ScheduleRequestedVisit


async def _forget_business(ctx: EventContext, event: BusinessErased) -> None:
    await service.forget_business(ctx, ForgetBusiness(event.business_id))


DIRECTORY = BusinessDirectory(
    columns=("registration_number", "name", "dong", "industry", "employees", "is_micro_business", "stage", "registered_on"),
    stage_history=True,
    # The owner's name and number go; the shop's dong, industry, size and stage stay (statistics).
    erasure=Erasure(blank={"name": ERASED, "registration_number": None}),
    on_registered=service.count_businesses,
    on_details_changed=service.move_dong_count,
    on_erased=_forget_business,
)


def handlers(*, policy: VisitPolicy) -> Handlers:
    registry = Handlers("visits")
    DIRECTORY.register(registry)

    @registry.on(SupportRequested)
    async def schedule_requested_visit(ctx: EventContext, event: SupportRequested) -> None:
        command = ScheduleRequestedVisit(event.request_id, event.business_id, list(event.needs), event.requested_on)
        await service.schedule_from_request(ctx, command, policy=policy)

    return registry
