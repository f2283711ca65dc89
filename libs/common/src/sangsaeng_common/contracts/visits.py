"""Events published by visits on `sangsaeng.visits.events`. Planners' free-text notes stay
in visits' schema: they may mention people."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sangsaeng_common.contracts import Event, contract
from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.intake import Stage


class VisitOutcome(StrEnum):
    met = "met"
    shop_closed = "shop_closed"
    owner_absent = "owner_absent"


class FollowUp(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    action: Annotated[str, Field(min_length=1, max_length=200)]
    due_on: date


@contract("visits", "VisitScheduled", 1)
class VisitScheduled(Event):
    visit_id: UUID
    business_id: UUID
    planner_id: str
    dong: str
    scheduled_for: date
    needs: list[Need] = Field(default_factory=list)
    # Optional (added without a new version): set when staff moved the visit to another
    # planner. A later VisitScheduled for the same visit_id supersedes the earlier one.
    reassigned_from: str | None = None


@contract("visits", "VisitRecorded", 1)
class VisitRecorded(Event):
    visit_id: UUID
    business_id: UUID
    planner_id: str
    dong: str
    visited_on: date
    outcome: VisitOutcome
    stage_observed: Stage | None = None
    needs_identified: list[Need] = Field(default_factory=list)
    services_given: list[str] = Field(default_factory=list)
    follow_ups: list[FollowUp] = Field(default_factory=list)


@contract("visits", "VisitCancelled", 1)
class VisitCancelled(Event):
    visit_id: UUID
    business_id: UUID
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    rescheduled_visit_id: UUID | None = None
