"""The HTTP API's request and response bodies (pydantic models; the routes turn a body into a command)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.intake import Stage
from sangsaeng_common.contracts.visits import CancelReason, FollowUp, VisitOutcome
from visits.domain.planning import DONGS

PlannerId = Annotated[str, Field(pattern=r"^planner-[a-z0-9-]{1,40}$", examples=["planner-02"])]


class ScheduleIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"business_id": "0197a0c4-5e2b-7c3e-9a51-2f1d3c4b5a69", "scheduled_for": "2025-05-12", "needs": ["consulting"]}]
        },
    )

    business_id: UUID
    scheduled_for: date | None = Field(None, description="earliest day wanted; default the next working day")
    needs: list[Need] = Field(default_factory=list)


MAX_FOLLOW_UPS = 20  # per visit; numbered 1..MAX_FOLLOW_UPS


class RecordIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "visited_on": "2025-05-12",
                    "outcome": "met",
                    "stage_observed": "closing",
                    "needs_identified": ["loan", "closure_support"],
                    "services_given": ["폐업 절차 안내"],
                    "follow_ups": [{"action": "희망리턴패키지 신청 서류 확인", "due_on": "2025-05-19"}],
                    "notes": "임대 계약 만료 예정, 사장님 폐업 고민 중",
                }
            ]
        },
    )

    planner_id: PlannerId | None = Field(
        None, description="the planner who made the visit; default the visit's assigned planner. A planner names only "
                          "themselves (else 403 `own_visits_only`); staff recording on a planner's behalf may name another, "
                          "who must be active and cover the business's dong (else an override_reason): the visit is "
                          "reassigned to them first (VisitScheduled with reassigned_from), then recorded",
    )
    visited_on: date
    outcome: VisitOutcome
    stage_observed: Stage | None = None
    needs_identified: list[Need] = Field(default_factory=list)
    services_given: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=20)
    follow_ups: list[FollowUp] = Field(default_factory=list, max_length=MAX_FOLLOW_UPS)
    notes: Annotated[str, Field(max_length=4000)] | None = Field(None, description="free text (Korean); stays in visits, never in events")
    override_reason: Annotated[str, Field(max_length=500)] | None = Field(
        None, description="required when the business's dong is outside the planner's territory"
    )


class CancelIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "사장님 일정 변경", "reschedule_to": "2025-05-20"}]}
    )

    reason: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="free text; kept in visits only (VisitCancelled carries reason_code), blanked on erasure"
    )
    reason_code: CancelReason | None = Field(
        None, description="why, as a code (what the event carries); default `rescheduled` with reschedule_to, else `other`"
    )
    reschedule_to: date | None = Field(None, description="schedule a new visit from this day (assigned by the usual rule)")


class ReassignIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"planner_id": "planner-06", "override_reason": None}]}
    )

    planner_id: PlannerId
    override_reason: Annotated[str, Field(max_length=500)] | None = Field(
        None, description="required when the new planner does not cover the business's dong"
    )


class FollowUpOut(BaseModel):
    position: int
    action: str
    due_on: date
    done_on: date | None


class Visit(BaseModel):
    id: UUID
    business_id: UUID
    dong: str
    planner_id: str
    status: str
    scheduled_for: date
    needs: list[Need]
    origin: str
    request_id: UUID | None
    over_capacity: bool
    visited_on: date | None
    visited_by: str | None
    outcome: VisitOutcome | None
    stage_observed: Stage | None
    needs_identified: list[Need] | None
    services_given: list[str] | None
    follow_ups: list[FollowUpOut] = Field(default_factory=list)
    notes: str | None
    override_reason: str | None
    cancel_reason: str | None
    rescheduled_visit_id: UUID | None
    rescheduled_from: UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> Visit:
        """A visit row, or a visit as the reads give it (its follow-ups under `follow_ups`)."""
        data = dict(row)
        return cls.model_validate({**data, "follow_ups": data.get("follow_ups", [])})


AdministrativeDong = Literal[DONGS]  # the 15 since 1 July 2025: a territory names no former dong


class PlannerIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id": "planner-09", "name": "플래너 09", "daily_capacity": 5, "dongs": ["이문1동", "이문2동"]}]},
    )

    id: PlannerId = Field(description="a pseudonymous code (it travels in events); never a person's name")
    name: Annotated[str, Field(min_length=1, max_length=100, description="the display name: kept in visits only, never in an event")]
    daily_capacity: Annotated[int, Field(strict=True, ge=1, le=40)]
    dongs: list[AdministrativeDong] = Field(min_length=1, max_length=15, description="the administrative dongs the planner covers")
    active: bool = True


class PlannerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"daily_capacity": 3}, {"active": False}]})

    daily_capacity: Annotated[int, Field(strict=True, ge=1, le=40)] | None = None
    active: bool | None = Field(None, description="false: the planner takes no new visits (refused if a dong would have nobody)")


class TerritoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"dongs": ["제기동", "청량리동", "회기동"]}]})

    dongs: list[AdministrativeDong] = Field(min_length=1, max_length=15, description="the whole territory (replaces the one before)")


class PlannerOut(BaseModel):
    id: str
    name: str
    daily_capacity: int
    active: bool
    territory: list[str]


class StageStep(BaseModel):
    position: int
    from_stage: Stage
    to_stage: Stage
    changed_on: date


class DirectoryBusiness(BaseModel):
    id: UUID
    registration_number: str | None
    name: str
    dong: str
    industry: str
    employees: int
    is_micro_business: bool
    stage: Stage
    registered_on: date | None
    updated_at: datetime
    erased_at: datetime | None = None
    stage_history: list[StageStep]


class RouteStop(BaseModel):
    visit_id: UUID
    business_id: UUID
    business_name: str
    dong: str
    industry: str
    stage: Stage
    status: str
    needs: list[Need]
    outcome: VisitOutcome | None


class Route(BaseModel):
    planner_id: str
    date: date
    daily_capacity: int
    stops: list[RouteStop]


class OpenFollowUp(BaseModel):
    visit_id: UUID
    position: int
    action: str
    due_on: date
    overdue: bool
    business_id: UUID
    business_name: str
    dong: str
    visited_on: date


class CountRow(BaseModel):
    visits: int
    distinct_shops: int


class DongCount(CountRow):
    dong: str


class WeekCount(CountRow):
    week: str  # ISO week, "2025-W20"
    week_start: date


class VisitReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    visits: int
    distinct_shops: int
    by_dong: list[DongCount]
    by_week: list[WeekCount]
    by_outcome: dict[str, int]
