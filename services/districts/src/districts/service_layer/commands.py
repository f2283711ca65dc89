"""The commands districts takes over HTTP: plain data, no HTTP models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from districts.domain.contest import Eligibility
from sangsaeng_common.contracts.districts import LeaveReason


@dataclass(frozen=True)
class ProposeDistrict:
    name: str
    dongs: list[str]
    association: str
    representative_name: str  # personal data: kept in districts only
    representative_phone: str | None
    boundary: dict[str, Any]  # GeoJSON Polygon, WGS84
    excluded_area_m2: float  # roads and common areas declared by the survey
    proposed_on: date | None
    by: str


@dataclass(frozen=True)
class JoinStore:
    district_id: UUID
    business_id: UUID
    longitude: float
    latitude: float
    onnuri_merchant: bool
    joined_on: date | None


@dataclass(frozen=True)
class LeaveStore:
    district_id: UUID
    business_id: UUID
    reason: str  # free text: kept in districts only
    left_on: date | None
    reason_code: LeaveReason | None = None  # None: leave_code_of_text(reason)


@dataclass(frozen=True)
class SetOnnuri:
    district_id: UUID
    business_id: UUID
    onnuri_merchant: bool


@dataclass(frozen=True)
class OpenReview:
    district_id: UUID
    on: date | None


@dataclass(frozen=True)
class Designate:
    district_id: UUID
    on: date | None


@dataclass(frozen=True)
class Revoke:
    district_id: UUID
    reasons: list[str]
    on: date | None


@dataclass(frozen=True)
class CallContest:
    organiser: str
    title: str
    eligibility: Eligibility
    budget_krw: int
    opens_on: date
    deadline: date


@dataclass(frozen=True)
class EnterContest:
    contest_id: UUID
    district_id: UUID
    requested_krw: int | None
    entered_on: date | None
    by: str


@dataclass(frozen=True)
class AnnounceResult:
    contest_id: UUID
    entry_id: UUID
    selected: bool
    awarded_krw: int
    announced_on: date | None
