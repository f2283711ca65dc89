"""Composition root of visits."""

from sangsaeng_common.service import ServiceDefinition
from visits.consumers import handlers
from visits.entrypoints.http import routes

definition = ServiceDefinition(
    name="visits",
    title="Sangsaeng visits",
    description="The visiting planners (찾아가는 소상공인 플래너): their directory of businesses, visits and reports.",
    routes=routes,
    consumers=[handlers],
)
