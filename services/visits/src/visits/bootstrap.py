"""Composition root of visits: reads the settings, builds the Seoul clock and the scheduling
policy, and wires them into the routes and consumers."""

from __future__ import annotations

from functools import partial

from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.visits import (
    PlannerAdded, PlannerChanged, PlannerTerritoryChanged, VisitCancelled, VisitRecorded, VisitScheduled,
)
from sangsaeng_common.read_models import ReadModel
from sangsaeng_common.runtime import ServiceDefinition
from visits.config import VisitPolicy, VisitsSettings
from visits.entrypoints import consumers
from visits.entrypoints.http import routes


def build() -> ServiceDefinition:
    settings, policy = VisitsSettings(), VisitPolicy()
    clock = SeoulClock(settings.clock_offset_days)
    return ServiceDefinition(
        name="visits",
        title="Sangsaeng visits",
        description="The visiting planners (찾아가는 소상공인 플래너): their directory of businesses, planners and "
        "territories, visit scheduling and recording, and visit reports.",
        routes=partial(routes, policy=policy, clock=clock),
        consumers=[consumers.handlers(policy=policy)],
        produces=[VisitScheduled, VisitRecorded, VisitCancelled, PlannerAdded, PlannerChanged, PlannerTerritoryChanged],
        # The directory is built only from intake's events, so a replay must rebuild it exactly.
        read_models=[*consumers.DIRECTORY.read_models(), ReadModel("dong_business_counts", key=("dong",))],
    )
