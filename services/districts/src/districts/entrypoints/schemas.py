"""The HTTP API's request and response bodies (pydantic); routes turn them into commands."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sangsaeng_common.contracts.districts import LeaveReason
from sangsaeng_common.contracts.intake import Stage
from districts.domain.contest import Eligibility
from districts.domain.district import State

Text = Annotated[str, Field(min_length=1, max_length=200)]

EXAMPLE_BOUNDARY = {"type": "Polygon", "coordinates": [[[127.0400, 37.5800], [127.0410, 37.5800], [127.0410, 37.5808],
                                                        [127.0400, 37.5808], [127.0400, 37.5800]]]}


class RepresentativeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text
    phone: Annotated[str, Field(pattern=r"^[0-9-]{9,14}$")] | None = None


class DistrictIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "제기동 약령골목", "dongs": ["제기동"], "association": "약령골목 상인회",
                                         "representative": {"name": "김상인", "phone": "010-1234-5678"},
                                         "boundary": EXAMPLE_BOUNDARY, "excluded_area_m2": 1800}]},
    )
    name: Text
    dongs: Annotated[list[Text], Field(min_length=1, max_length=5)]
    association: Text
    representative: RepresentativeIn
    boundary: dict[str, Any] = Field(description="GeoJSON Polygon in WGS84: coordinates [[[longitude, latitude], ...]]")
    excluded_area_m2: float = Field(0, ge=0, description="roads and common areas declared by the survey (not counted)")
    proposed_on: date | None = Field(None, description="default today (Seoul)")


class Representative(BaseModel):
    name: str
    phone: str | None


class CheckOut(BaseModel):
    rule: str
    name: str
    stores_per_area: int
    per_area_m2: float
    required_stores: int
    met: bool


class District(BaseModel):
    id: UUID
    name: str
    dongs: list[str]
    association: str
    boundary: dict[str, Any]
    polygon_area_m2: float
    excluded_area_m2: float
    counted_area_m2: float
    state: State
    proposed_on: date
    designated_on: date | None
    designated_rule: str | None
    revoked_on: date | None
    revoke_reasons: list[str] | None
    review_reason: str | None
    members: int = Field(description="current member stores")
    counted_stores: int = Field(description="members inside the boundary whose business is operating")
    onnuri_merchants: int
    rules: list[CheckOut] = Field(description="the designation rule first, then the others kept beside it (today's versions)")
    representative: Representative | None = Field(None, description="staff only: personal data")


class StoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"business_id": "0197a0c4-5e2b-7c3e-9a51-2f1d3c4b5a69", "longitude": 127.0405, "latitude": 37.5804, "onnuri_merchant": True}]})
    business_id: UUID
    longitude: float = Field(ge=-180, le=180)
    latitude: float = Field(ge=-90, le=90)
    onnuri_merchant: bool = False
    joined_on: date | None = None


class LeaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(description="free text; kept in districts only (StoreLeftDistrict carries reason_code), blanked on erasure")
    reason_code: LeaveReason | None = Field(None, description="why, as a code (what the event carries); default `other`")
    left_on: date | None = None


class OnnuriIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    onnuri_merchant: bool


class Store(BaseModel):
    district_id: UUID
    business_id: UUID
    business_name: str | None = None
    stage: Stage | None = None
    longitude: float
    latitude: float
    inside_boundary: bool
    onnuri_merchant: bool
    counts: bool = False
    joined_on: date
    left_on: date | None
    left_reason: str | None


class DatedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date | None = Field(None, description="default today (Seoul)")


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reasons": ["상인회 해산"]}]})
    reasons: Annotated[list[Annotated[str, Field(min_length=1, max_length=500)]], Field(
        min_length=1, max_length=10,
        description="the district's facts only (e.g. 상인회 해산), never a person or a member store: DistrictRevoked carries them "
                    "for ever, where no erasure reaches",
    )]
    on: date | None = None


class ContestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"organiser": "서울특별시", "title": "2025 골목상권 활성화 공모", "eligibility": "designated_only", "budget_krw": 300000000,
         "opens_on": "2025-08-01", "deadline": "2025-09-15"}]})
    organiser: Text
    title: Text
    eligibility: Eligibility
    budget_krw: int = Field(ge=0)
    opens_on: date
    deadline: date


class Contest(BaseModel):
    id: UUID
    organiser: str
    title: str
    eligibility: Eligibility
    budget_krw: int
    opens_on: date
    deadline: date


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    district_id: UUID
    requested_krw: int | None = Field(None, ge=0)
    entered_on: date | None = None


class ResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    selected: bool
    awarded_krw: int = Field(0, ge=0)
    announced_on: date | None = None


class Entry(BaseModel):
    id: UUID
    contest_id: UUID
    district_id: UUID
    requested_krw: int | None
    entered_on: date
    helped_by: str
    selected: bool | None
    awarded_krw: int | None
    announced_on: date | None


def of(model: type[BaseModel], row: Any, **extra: Any) -> Any:
    return model.model_validate({**{k: row[k] for k in model.model_fields if k in row.keys()}, **extra})
