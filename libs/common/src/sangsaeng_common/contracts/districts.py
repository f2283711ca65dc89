"""Events published by districts on `sangsaeng.districts.events`: alley-type shopping
districts (골목형상점가), their member stores, designation, and public contests (공모사업).

Key and `ce_subject` = the district id (not a business id), so one district's events keep
their order. Events about one store also carry its `business_id`, so they reach that
business's timeline. The merchants' association's representative (a person) never travels
in an event: only the association's name does."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field

from sangsaeng_common.contracts import Event, contract, upcaster
from sangsaeng_common.contracts.common import NOT_ABOUT_A_BUSINESS, Code, FreeTextSuperseded, PublicName, free_text


class DistrictEvent(Event):
    key_description: ClassVar[str] = "the district id"
    district_id: UUID

    def subject(self) -> str:
        return str(self.district_id)


class ReviewReason(StrEnum):
    submitted = "submitted"  # the association asked for designation
    below_rule = "below_rule"  # a designated district no longer meets the rule (e.g. a member closed)
    staff = "staff"  # staff reopened it


@contract("districts", "DistrictProposed", 1)
class DistrictProposed(DistrictEvent):
    """A district was proposed: its boundary and the area that counts."""

    name: PublicName
    dongs: Annotated[list[Code], Field(min_length=1)]
    association: PublicName = Field(description="the merchants' association (상인회) by name; its representative stays in districts")
    boundary: dict[str, Any] = Field(description="GeoJSON Polygon, WGS84 (longitude, latitude)")
    polygon_area_m2: float
    excluded_area_m2: float = Field(description="roads and common areas declared by the survey")
    counted_area_m2: float
    proposed_on: date


@contract("districts", "DistrictReviewOpened", 1)
class DistrictReviewOpened(DistrictEvent):
    """A district is under review: submitted for designation, or a designated one that fell below the rule."""

    reason: ReviewReason
    rule: Code = Field(description="the designation rule in force, e.g. dongdaemun_ordinance")
    counted_stores: int
    required_stores: int
    opened_on: date
    business_id: UUID | None = None  # the member whose change caused it (below_rule)


@contract("districts", "DistrictDesignated", 1)
class DistrictDesignated(DistrictEvent):
    """Designated under the rule named: the figures the rule was checked with, and the stores counted."""

    rule: Code
    stores_required_per_area: int
    per_area_m2: float
    counted_area_m2: float
    counted_stores: int
    required_stores: int
    counted_business_ids: list[UUID]
    designated_on: date


@contract("districts", "DistrictRevoked", 1)
class DistrictRevoked(DistrictEvent):
    """The designation (or the proposal) was revoked, with the reasons."""

    reasons: Annotated[list[Annotated[str, free_text(NOT_ABOUT_A_BUSINESS)]], Field(min_length=1)]
    counted_stores: int
    revoked_on: date


@contract("districts", "StoreJoinedDistrict", 1)
class StoreJoinedDistrict(DistrictEvent):
    """A business known from intake joined the district as a member store."""

    business_id: UUID
    longitude: float
    latitude: float
    inside_boundary: bool
    onnuri_merchant: bool = Field(description="온누리상품권 가맹점")
    joined_on: date


class LeaveReason(StrEnum):
    """Why a member store left its district (StoreLeftDistrict.v2). The words stay in
    districts (members.leave_reason, blanked on erasure)."""

    closed = "closed"  # 폐업
    moved_out = "moved_out"  # 구역 밖으로 이전
    withdrew = "withdrew"  # 상인회 탈퇴
    other = "other"  # words were given, none of the above
    not_given = "not_given"


def leave_code_of_text(reason: str | None) -> LeaveReason:
    """The code of a departure that has only words (v1, or a request without a code):
    `other` if there are any, else `not_given`. The words are never read further."""
    return LeaveReason.other if reason and reason.strip() else LeaveReason.not_given


@contract("districts", "StoreLeftDistrict", 1)
class StoreLeftDistrictV1(DistrictEvent):
    # Superseded by v2 (free-text reason). Its published schema stays as it was.
    model_config = ConfigDict(title="StoreLeftDistrict")

    business_id: UUID
    reason: FreeTextSuperseded
    left_on: date


@contract("districts", "StoreLeftDistrict", 2)
class StoreLeftDistrict(DistrictEvent):
    business_id: UUID
    reason_code: LeaveReason
    left_on: date


@upcaster(StoreLeftDistrictV1, StoreLeftDistrict)
def store_left_district_v1_to_v2(old: StoreLeftDistrictV1) -> StoreLeftDistrict:
    """v1's reason becomes a code by `leave_code_of_text`; the words are dropped."""
    return StoreLeftDistrict(district_id=old.district_id, business_id=old.business_id, reason_code=leave_code_of_text(old.reason),
                             left_on=old.left_on)


@contract("districts", "ContestEntered", 1)
class ContestEntered(DistrictEvent):
    """A district entered a public contest (공모사업) with the center's help."""

    entry_id: UUID
    contest_id: UUID
    organiser: PublicName
    title: PublicName
    requested_krw: int | None = None
    entered_on: date


@contract("districts", "ContestResultAnnounced", 1)
class ContestResultAnnounced(DistrictEvent):
    entry_id: UUID
    contest_id: UUID
    selected: bool
    awarded_krw: int
    announced_on: date
