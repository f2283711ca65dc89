"""Events published by visits on `sangsaeng.visits.events`. Planners' free-text notes stay
in visits' schema: they may mention people."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sangsaeng_common.contracts import Event, contract, upcaster
from sangsaeng_common.contracts.common import Code, FreeTextSuperseded, Ident, Need
from sangsaeng_common.contracts.intake import Stage


class VisitOutcome(StrEnum):
    met = "met"
    shop_closed = "shop_closed"
    owner_absent = "owner_absent"


class FollowUp(BaseModel):
    # A follow-up as the planner writes it: the visits API's input, and VisitRecorded.v1's item.
    model_config = ConfigDict(extra="ignore", frozen=True)

    action: Annotated[FreeTextSuperseded, Field(min_length=1, max_length=200)]
    due_on: date


@contract("visits", "VisitScheduled", 1)
class VisitScheduled(Event):
    visit_id: UUID
    business_id: UUID
    planner_id: Ident
    dong: Code
    scheduled_for: date
    needs: list[Need] = Field(default_factory=list)
    # Optional (added without a new version): set when staff moved the visit to another
    # planner. A later VisitScheduled for the same visit_id supersedes the earlier one.
    reassigned_from: Ident | None = None


@contract("visits", "VisitRecorded", 1)
class VisitRecordedV1(Event):
    # Superseded by v2 (free-text services_given and follow_ups[].action). Its published
    # schema stays as it was.
    model_config = ConfigDict(title="VisitRecorded")

    visit_id: UUID
    business_id: UUID
    planner_id: Ident
    dong: Code
    visited_on: date
    outcome: VisitOutcome
    stage_observed: Stage | None = None
    needs_identified: list[Need] = Field(default_factory=list)
    services_given: list[FreeTextSuperseded] = Field(default_factory=list)
    follow_ups: list[FollowUp] = Field(default_factory=list)


class FollowUpDue(BaseModel):
    """A follow-up as events carry it (v2): its number on the visit and its due date. What
    to do (the planner's words) stays in visits: GET /visits/{id}, follow_ups[number - 1]."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    number: Annotated[int, Field(ge=1, description="1-based position among the visit's follow-ups")]
    due_on: date


@contract("visits", "VisitRecorded", 2)
class VisitRecorded(Event):
    visit_id: UUID
    business_id: UUID
    planner_id: Ident
    dong: Code
    visited_on: date
    outcome: VisitOutcome
    stage_observed: Stage | None = None
    needs_identified: list[Need] = Field(default_factory=list)
    services_given_count: Annotated[int, Field(ge=0, description="how many services the planner noted; their words stay in visits")] = 0
    follow_ups: list[FollowUpDue] = Field(default_factory=list)


@upcaster(VisitRecordedV1, VisitRecorded)
def visit_recorded_v1_to_v2(old: VisitRecordedV1) -> VisitRecorded:
    """Follow-ups become their numbers (1, 2, ... in v1's order) and due dates; services
    given become their count. The planner's words are dropped."""
    return VisitRecorded(
        visit_id=old.visit_id, business_id=old.business_id, planner_id=old.planner_id, dong=old.dong, visited_on=old.visited_on,
        outcome=old.outcome, stage_observed=old.stage_observed, needs_identified=old.needs_identified,
        services_given_count=len(old.services_given),
        follow_ups=[FollowUpDue(number=i + 1, due_on=f.due_on) for i, f in enumerate(old.follow_ups)],
    )


class CancelReason(StrEnum):
    """Why a visit was cancelled (v2). Staff's words stay in visits (visits.cancel_reason)."""

    rescheduled = "rescheduled"  # moved to another day (rescheduled_visit_id names the new visit)
    owner_request = "owner_request"  # 대표자 요청
    planner_unavailable = "planner_unavailable"  # 플래너 사정
    shop_closed = "shop_closed"  # 점포 폐업/휴업
    business_erased = "business_erased"  # the owner had the business erased (written by visits itself)
    other = "other"


BUSINESS_ERASED_TEXT = "business erased"  # what visits wrote as v1's reason when an erasure cancelled a visit


def cancel_reason_code_of_text(reason: str | None, *, rescheduled: bool) -> CancelReason:
    """The code of a cancellation that has only words (a v1 event, or a request without a
    code): `business_erased` for the text visits itself wrote on an erasure, `rescheduled`
    when a new visit was scheduled, else `other`. The words are never read further."""
    if (reason or "").strip() == BUSINESS_ERASED_TEXT:
        return CancelReason.business_erased
    return CancelReason.rescheduled if rescheduled else CancelReason.other


@contract("visits", "VisitCancelled", 1)
class VisitCancelledV1(Event):
    # Superseded by v2 (free-text reason). Its published schema stays as it was.
    model_config = ConfigDict(title="VisitCancelled")

    visit_id: UUID
    business_id: UUID
    reason: Annotated[FreeTextSuperseded, Field(min_length=1, max_length=500)]
    rescheduled_visit_id: UUID | None = None


@contract("visits", "VisitCancelled", 2)
class VisitCancelled(Event):
    visit_id: UUID
    business_id: UUID
    reason_code: CancelReason
    rescheduled_visit_id: UUID | None = None


@upcaster(VisitCancelledV1, VisitCancelled)
def visit_cancelled_v1_to_v2(old: VisitCancelledV1) -> VisitCancelled:
    """v1's reason becomes a code by `cancel_reason_code_of_text`; the words are dropped."""
    return VisitCancelled(
        visit_id=old.visit_id, business_id=old.business_id, rescheduled_visit_id=old.rescheduled_visit_id,
        reason_code=cancel_reason_code_of_text(old.reason, rescheduled=old.rescheduled_visit_id is not None),
    )


# ---------------------------------------------------------------- the planners' roster (staff keeps it through the API)


class PlannerEvent(Event):
    """An event about a planner, not a business: key and `ce_subject` are the planner id (a
    pseudonymous code), so one planner's changes keep their order. The planner's display name
    stays in visits' table: it may be a person's name."""

    key_description: ClassVar[str] = "the planner id"
    planner_id: Ident

    def subject(self) -> str:
        return self.planner_id


@contract("visits", "PlannerAdded", 1)
class PlannerAdded(PlannerEvent):
    daily_capacity: Annotated[int, Field(ge=1, description="visits a day before the assignment looks further")]
    territory: list[Code] = Field(description="the administrative dongs the planner covers")
    active: bool = True
    added_on: date


@contract("visits", "PlannerChanged", 1)
class PlannerChanged(PlannerEvent):
    """The planner's daily capacity or whether they take visits (active) changed; the new
    values and the ones before, so a reader needs no earlier event to see what changed."""

    daily_capacity: Annotated[int, Field(ge=1)]
    active: bool
    previous_daily_capacity: Annotated[int, Field(ge=1)]
    previous_active: bool
    changed_on: date


@contract("visits", "PlannerTerritoryChanged", 1)
class PlannerTerritoryChanged(PlannerEvent):
    territory: list[Code] = Field(description="the whole territory now")
    added: list[Code] = Field(default_factory=list)
    removed: list[Code] = Field(default_factory=list)
    changed_on: date
