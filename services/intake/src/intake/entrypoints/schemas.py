"""The HTTP API's request and response bodies (pydantic: validation and OpenAPI examples).

The routes turn a request body into a service-layer command (service_layer/commands.py)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from intake.domain import registration
from sangsaeng_common.contracts.common import AgencyCode, Channel, Need
from sangsaeng_common.contracts.intake import Stage, StageChangeReason, SupportClosure, SupportResolution
from intake.domain.support import SupportStatus, SupportStep


class BusinessIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "registration_number": "220-81-62517",
                    "name": "동대문 바른분식",
                    "dong": "제기동",
                    "address": "서울 동대문구 제기로 1",
                    "industry": "음식점업",
                    "employees": 2,
                    "stage": "operating",
                    "registered_on": "2023-03-02",
                }
            ]
        },
    )

    registration_number: str | None = Field(None, description="XXX-XX-XXXXX or 10 digits; omit for a would-be founder")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    dong: str = Field(description="administrative dong (행정동) of Dongdaemun-gu")
    address: Annotated[str, Field(max_length=300)] | None = None
    industry: Annotated[str, Field(min_length=1, max_length=100)]
    employees: Annotated[int, Field(ge=0, le=100_000)]
    stage: Stage = Stage.operating
    registered_on: date | None = None

    @field_validator("registration_number")
    @classmethod
    def _valid_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return registration.normalize(value)
        except registration.InvalidRegistrationNumber as exc:
            raise ValueError(str(exc)) from exc


_BUSINESS_EXAMPLE = {
    "id": "0197a0c4-5e2b-7c3d-9a41-2f6b1d8e9c01",
    "registration_number": "2208162517",
    "business_kind": "corporation_head_office",
    "name": "동대문 바른분식",
    "dong": "제기동",
    "address": "서울 동대문구 제기로 1",
    "industry": "음식점업",
    "employees": 2,
    "is_micro_business": True,
    "stage": "operating",
    "registered_on": "2023-03-02",
    "erased_at": None,
    "created_at": "2025-05-02T09:30:00+09:00",
    "updated_at": "2025-05-02T09:30:00+09:00",
}
_BUSINESS_ID = _BUSINESS_EXAMPLE["id"]


class Business(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_BUSINESS_EXAMPLE]})

    id: UUID
    registration_number: str | None
    business_kind: str | None
    name: str
    dong: str
    address: str | None
    industry: str
    employees: int
    is_micro_business: bool
    stage: Stage
    registered_on: date | None
    erased_at: datetime | None = Field(None, description="when the owner's personal data was last erased")
    version: int = Field(1, description="counts the changes of details; the ETag is this number, quoted")
    created_at: datetime
    updated_at: datetime


class BusinessPatchIn(BaseModel):
    """A JSON merge patch (RFC 7396) of a business's details: send only what changes; `address: null` removes the address."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"dong": "회기동", "employees": 6}, {"address": None}]})

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    dong: str | None = Field(None, description="administrative dong (행정동) of Dongdaemun-gu, one of the 15")
    industry: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    employees: Annotated[int, Field(ge=0, le=100_000)] | None = None
    address: Annotated[str, Field(max_length=300)] | None = None

    def patch(self) -> dict[str, Any]:
        """The members the caller sent (null included: it removes), not the defaults."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class StageChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"stage": "closing", "reason_code": "rent_burden", "reason": "임대료 인상", "changed_on": "2025-05-12"}]})

    stage: Stage
    reason_code: StageChangeReason | None = Field(
        None, description="why, as a code (what the event carries); default: `other` if a reason is given, else `not_given`"
    )
    reason: Annotated[str, Field(max_length=500)] | None = Field(
        None, description="free text; kept in intake only (never in an event), blanked on erasure"
    )
    changed_on: date | None = None


# ---------------------------------------------------------------- shared




class ProblemOut(BaseModel):
    """RFC 9457 problem details (served as application/problem+json)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Invalid request",
                    "status": 422,
                    "detail": "phone: contains a resident registration number (주민등록번호), which is never stored",
                    "instance": "/businesses/0197a0c4-5e2b-7c3d-9a41-2f6b1d8e9c01/owners",
                    "errors": [{"field": "phone", "message": "contains a resident registration number (주민등록번호), which is never stored"}],
                }
            ]
        },
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, str]] | None = None


class BusinessPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_BUSINESS_EXAMPLE], "next": "WyIwMTk3YTBjNC01ZTJiLTdjM2QtOWE0MS0yZjZiMWQ4ZTljMDEiXQ"}]})

    items: list[Business]
    next: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


# ---------------------------------------------------------------- owners (personal data)


class Relation(StrEnum):
    owner = "owner"
    co_owner = "co_owner"
    manager = "manager"
    contact = "contact"


_PHONE = r"^\+?[0-9][0-9 -]{5,18}[0-9]$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class OwnerIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "김바른", "relation": "owner", "phone": "010-1234-5678", "email": "barun@example.kr"}]},
    )

    name: Annotated[str, Field(min_length=1, max_length=100)]
    relation: Relation = Relation.owner
    phone: Annotated[str, Field(pattern=_PHONE, max_length=20)] | None = None
    email: Annotated[str, Field(pattern=_EMAIL, max_length=200)] | None = None


class Owner(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0197a0c5-1111-7abc-8def-000000000001", "business_id": _BUSINESS_ID, "relation": "owner",
                    "name": "김바른", "phone": "010-1234-5678", "email": "barun@example.kr", "created_at": "2025-05-02T09:31:00+09:00",
                }
            ]
        }
    )

    id: UUID
    business_id: UUID
    relation: Relation
    name: str
    phone: str | None
    email: str | None
    created_at: datetime


# ---------------------------------------------------------------- consents


class ConsentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "agencies": ["SEOUL_CREDIT_GUARANTEE", "SEMAS"],
                    "owner_id": "0197a0c5-1111-7abc-8def-000000000001",
                    "signed_by": "김바른",
                    "given_at": "2025-05-02T10:30:00+09:00",
                    "note": "서면 동의서 접수",
                }
            ]
        },
    )

    agencies: Annotated[list[AgencyCode], Field(min_length=1, description="the agencies the owner agrees to share with")]
    owner_id: UUID | None = Field(None, description="the owner (of this business) who consented")
    signed_by: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(None, description="who signed; personal data")
    given_at: datetime | None = Field(None, description="with a time zone; defaults to now")
    note: Annotated[str, Field(max_length=1000)] | None = None


class ConsentWithdrawalIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"withdrawn_at": "2025-06-10T14:00:00+09:00", "note": "전화로 철회 요청"}]}
    )

    withdrawn_at: datetime | None = Field(None, description="with a time zone; defaults to now")
    note: Annotated[str, Field(max_length=1000)] | None = None


_CONSENT_EXAMPLE = {
    "id": "0197a0c6-2222-7abc-8def-000000000002",
    "business_id": _BUSINESS_ID,
    "agencies": ["SEOUL_CREDIT_GUARANTEE", "SEMAS"],
    "given_at": "2025-05-02T10:30:00+09:00",
    "withdrawn_at": None,
    "active": True,
    "owner_id": "0197a0c5-1111-7abc-8def-000000000001",
    "signed_by": "김바른",
    "note": "서면 동의서 접수",
    "withdrawal_note": None,
}


class Consent(BaseModel):
    """Personal details (owner_id, signed_by, notes) are shown to staff only and erased on request."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CONSENT_EXAMPLE]})

    id: UUID
    business_id: UUID
    agencies: list[AgencyCode]
    given_at: datetime
    withdrawn_at: datetime | None
    active: bool
    owner_id: UUID | None = None
    signed_by: str | None = None
    note: str | None = None
    withdrawal_note: str | None = None


class ConsentList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_CONSENT_EXAMPLE]}]})

    items: list[Consent]


# ---------------------------------------------------------------- support requests


class SupportRequestIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"business_id": _BUSINESS_ID, "needs": ["consulting", "loan"], "channel": "walk_in", "requested_on": "2025-05-02", "note": "운영자금 상담 희망"}
            ]
        },
    )

    business_id: UUID
    needs: Annotated[list[Need], Field(min_length=1)]
    channel: Channel
    requested_on: date | None = Field(None, description="defaults to today")
    visit_id: UUID | None = Field(None, description="the visit it was made during (channel visit only)")
    note: Annotated[str, Field(max_length=2000)] | None = Field(None, description="free text; stays in intake, never in an event")


_SUPPORT_EXAMPLE = {
    "id": "0197a0c7-3333-7abc-8def-000000000003",
    "business_id": _BUSINESS_ID,
    "needs": ["consulting", "loan"],
    "channel": "walk_in",
    "requested_on": "2025-05-02",
    "visit_id": None,
    "note": "운영자금 상담 희망",
    "status": "assigned",
    "assignee": "S-1001",
    "outcome": None,
    "created_at": "2025-05-02T10:40:00+09:00",
    "updated_at": "2025-05-02T10:45:00+09:00",
}


class SupportRequest(BaseModel):
    """`note` is shown to staff and planners only."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUPPORT_EXAMPLE]})

    id: UUID
    business_id: UUID
    needs: list[Need]
    channel: Channel
    requested_on: date
    visit_id: UUID | None
    note: str | None = None
    status: SupportStatus = Field(description="open → assigned → in_progress → resolved / closed")
    assignee: str | None = Field(description="the staff subject id holding it")
    outcome: str | None = Field(description="how it ended: a SupportResolution (resolved) or SupportClosure (closed) code")
    created_at: datetime
    updated_at: datetime


# A subject id (pseudonymous staff number such as S-1001): letters, digits and - _ . : only, so
# that no name can be typed in its place.
SubjectId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", examples=["S-1001"])]
StepNote = Annotated[str, Field(max_length=2000)] | None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"assignee": "S-1002", "note": "융자 담당으로 이관"}]})

    assignee: SubjectId = Field(description="the staff subject id to hold the request (a reassignment if someone holds it)")
    note: StepNote = Field(None, description="free text; stays in intake, never in an event, blanked on erasure")


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "전화 상담 시작"}]})

    note: StepNote = Field(None, description="free text; stays in intake, never in an event, blanked on erasure")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"outcome": "referred", "note": "노란우산공제 안내"}]})

    outcome: SupportResolution
    note: StepNote = Field(None, description="free text; stays in intake, never in an event, blanked on erasure")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"outcome": "unreachable"}]})

    outcome: SupportClosure
    note: StepNote = Field(None, description="free text; stays in intake, never in an event, blanked on erasure")


class SupportStepOut(BaseModel):
    """`note` is shown to staff and planners only."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "event_id": "0197a0c7-4444-7abc-8def-000000000004", "step": "assign", "status": "assigned", "assignee": "S-1001",
        "outcome": None, "note": None, "actor": "S-1002", "taken_at": "2025-05-02T10:45:00+09:00"}]})

    event_id: UUID
    step: SupportStep
    status: SupportStatus
    assignee: str | None
    outcome: str | None
    note: str | None = None
    actor: str | None
    taken_at: datetime


class SupportRequestPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SUPPORT_EXAMPLE], "next": None}]})

    items: list[SupportRequest]
    next: str | None


# ---------------------------------------------------------------- erasure


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"requested_on": "2025-06-30"}]})

    requested_on: date | None = Field(None, description="when the owner asked (defaults to today)")


class Erasure(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "business_id": _BUSINESS_ID, "erased_at": "2025-06-30T11:00:00+09:00", "requested_on": "2025-06-30",
                    "owners_deleted": 2, "consents_anonymised": 1, "support_notes_blanked": 1, "stage_reasons_blanked": 1,
                    "timeline_entries_scrubbed": 1,
                }
            ]
        }
    )

    business_id: UUID
    erased_at: datetime
    requested_on: date
    owners_deleted: int
    consents_anonymised: int
    support_notes_blanked: int
    stage_reasons_blanked: int = 0
    timeline_entries_scrubbed: int


# ---------------------------------------------------------------- timeline


_TIMELINE_EXAMPLE = {
    "event_id": "0197a0c8-4444-7abc-8def-000000000004",
    "type": "sangsaeng.visits.VisitRecorded.v1",
    "source": "/sangsaeng/visits",
    "time": "2025-05-12T15:20:00+09:00",
    "summary": "방문 기록: 2025-05-12 면담, 필요: 융자",
    "data": {"visit_id": "0197a0c8-5555-7abc-8def-000000000005", "business_id": _BUSINESS_ID, "outcome": "met", "needs_identified": ["loan"]},
}


class TimelineEntry(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_TIMELINE_EXAMPLE]})

    event_id: UUID
    type: str
    source: str
    time: datetime
    summary: str
    data: dict[str, Any]


class TimelinePage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"business_id": _BUSINESS_ID, "items": [_TIMELINE_EXAMPLE], "next": None}]})

    business_id: UUID
    items: list[TimelineEntry]
    next: str | None
