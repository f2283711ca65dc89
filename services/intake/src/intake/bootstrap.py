"""Composition root of intake."""

from intake.consumers import timeline
from intake.entrypoints.http import routes
from sangsaeng_common.contracts.intake import (
    BusinessErased,
    BusinessRegistered,
    BusinessStageChanged,
    ConsentGiven,
    ConsentWithdrawn,
    SupportRequested,
)
from sangsaeng_common.read_models import ReadModel
from sangsaeng_common.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="intake",
    title="Sangsaeng intake",
    description="The center's front door: businesses, owners and consent, stages, support requests, "
    "and the business timeline built from every service's events.",
    routes=routes,
    consumers=[timeline],
    produces=[BusinessRegistered, BusinessStageChanged, SupportRequested, ConsentGiven, ConsentWithdrawn, BusinessErased],
    read_models=[ReadModel("timeline", key=("event_id",), ignore=("recorded_at",), subject="business_id")],
)
