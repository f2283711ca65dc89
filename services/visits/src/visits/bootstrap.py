"""Composition root of visits."""

from sangsaeng_common.contracts.visits import VisitCancelled, VisitRecorded, VisitScheduled
from sangsaeng_common.read_models import ReadModel
from sangsaeng_common.runtime import ServiceDefinition
from visits.consumers import directory, handlers
from visits.entrypoints.http import routes

definition = ServiceDefinition(
    name="visits",
    title="Sangsaeng visits",
    description="The visiting planners (찾아가는 소상공인 플래너): their directory of businesses, planners and "
    "territories, visit scheduling and recording, and visit reports.",
    routes=routes,
    consumers=[handlers],
    produces=[VisitScheduled, VisitRecorded, VisitCancelled],
    # The directory is built only from intake's events, so a replay must rebuild it exactly.
    read_models=[
        *directory.read_models(),
        ReadModel("dong_business_counts", key=("dong",)),
    ],
)
