"""Composition root of intake: reads the settings, builds the clock and wires it into the
routes and consumers."""

from __future__ import annotations

from functools import partial

from intake.config import IntakeSettings
from intake.entrypoints import consumers
from intake.entrypoints.http import routes
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.intake import (
    BusinessDetailsChanged,
    BusinessErased,
    BusinessRegistered,
    BusinessStageChanged,
    ConsentGiven,
    ConsentWithdrawn,
    SupportRequestAssigned,
    SupportRequestClosed,
    SupportRequested,
    SupportRequestResolved,
    SupportRequestStarted,
)
from sangsaeng_common.read_models import ReadModel
from sangsaeng_common.runtime import ServiceDefinition


def build() -> ServiceDefinition:
    settings = IntakeSettings()
    clock = SeoulClock(settings.clock_offset_days)
    return ServiceDefinition(
        name="intake",
        title="Sangsaeng intake",
        description="The center's front door: businesses, owners and consent, stages, support requests, "
        "and the business timeline built from every service's events.",
        routes=partial(routes, clock=clock),
        consumers=[consumers.timeline()],
        produces=[
            BusinessRegistered, BusinessStageChanged, BusinessDetailsChanged, SupportRequested, SupportRequestAssigned,
            SupportRequestStarted, SupportRequestResolved, SupportRequestClosed, ConsentGiven, ConsentWithdrawn, BusinessErased,
        ],
        read_models=[ReadModel("timeline", key=("event_id",), ignore=("recorded_at",), subject="business_id")],
    )
