"""Composition root of intake."""

from intake.entrypoints.http import routes
from sangsaeng_common.contracts.intake import BusinessRegistered, BusinessStageChanged
from sangsaeng_common.service import ServiceDefinition

definition = ServiceDefinition(
    name="intake",
    title="Sangsaeng intake",
    description="The center's front door: businesses, owners and consent, stages, support requests.",
    routes=routes,
    produces=[BusinessRegistered, BusinessStageChanged],
)
