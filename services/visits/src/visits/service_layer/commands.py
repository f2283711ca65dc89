"""Visits' commands: what a caller asks visits to do, as plain data (no HTTP, no pydantic
request models). Field names are the input's own, so a refusal names the field sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.intake import Stage
from sangsaeng_common.contracts.visits import CancelReason, FollowUp, VisitOutcome
from visits.domain.authority import Caller


@dataclass(frozen=True)
class ScheduleVisit:
    """Staff asks for a visit."""

    business_id: UUID
    scheduled_for: date | None = None  # earliest day wanted; None: after the policy's lead days
    needs: list[Need] = field(default_factory=list)


@dataclass(frozen=True)
class ScheduleRequestedVisit:
    """A support request (intake's SupportRequested) that may call for a visit."""

    request_id: UUID
    business_id: UUID
    needs: list[Need]
    requested_on: date


@dataclass(frozen=True)
class RecordVisit:
    visit_id: UUID
    visited_on: date
    outcome: VisitOutcome
    caller: Caller  # who records: the assigned planner, or staff on a planner's behalf
    planner_id: str | None = None  # None: the visit's assigned planner; another: staff reassign as they record
    stage_observed: Stage | None = None
    needs_identified: list[Need] = field(default_factory=list)
    services_given: list[str] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    notes: str | None = None
    override_reason: str | None = None


@dataclass(frozen=True)
class CompleteFollowUp:
    visit_id: UUID
    position: int
    caller: Caller


@dataclass(frozen=True)
class CancelVisit:
    visit_id: UUID
    reason: str  # free text: kept in visits only
    reschedule_to: date | None = None
    reason_code: CancelReason | None = None  # None: cancel_reason_code_of_text(reason)


@dataclass(frozen=True)
class ReassignVisit:
    visit_id: UUID
    planner_id: str
    override_reason: str | None = None


@dataclass(frozen=True)
class ForgetBusiness:
    """Intake's BusinessErased, after the directory anonymised the business."""

    business_id: UUID


@dataclass(frozen=True)
class AddPlanner:
    """Staff adds a planner to the roster."""

    planner_id: str
    name: str  # the display name: stays in visits' table, never in an event
    daily_capacity: int
    dongs: list[str]
    active: bool = True


@dataclass(frozen=True)
class ChangePlanner:
    """Staff changes a planner's daily capacity or whether they take visits (None: unchanged)."""

    planner_id: str
    daily_capacity: int | None = None
    active: bool | None = None


@dataclass(frozen=True)
class ChangeTerritory:
    """Staff gives a planner a new territory (the whole list of dongs)."""

    planner_id: str
    dongs: list[str]
