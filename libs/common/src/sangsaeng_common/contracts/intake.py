"""Events published by intake on `sangsaeng.intake.events`. No personal data: owners'
names, contacts and resident numbers never leave intake's schema."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, Field

from sangsaeng_common.contracts import Event, contract, upcaster
from sangsaeng_common.contracts.common import AgencyCode, Channel, Code, FreeTextSuperseded, Ident, Need, PublicName


class Stage(StrEnum):
    prospective = "prospective"
    operating = "operating"
    closing = "closing"
    closed = "closed"
    restarting = "restarting"


@contract("intake", "BusinessRegistered", 1)
class BusinessRegistered(Event):
    business_id: UUID
    registration_number: Annotated[str, Field(pattern=r"^\d{10}$")] | None = Field(
        description="10 digits, no hyphens; none for a would-be founder"
    )
    name: Annotated[PublicName, Field(min_length=1, max_length=200)]
    dong: Code
    industry: Code
    employees: Annotated[int, Field(ge=0)]
    is_micro_business: bool
    stage: Stage
    registered_on: date | None


class StageChangeReason(StrEnum):
    """Why a business changed stage, as a code (v2). The words staff typed stay in intake's
    own table (stage_changes.reason), blanked when the owner's data is erased."""

    business_opened = "business_opened"  # 개업 (사업자 등록)
    sales_decline = "sales_decline"  # 매출 감소
    rent_burden = "rent_burden"  # 임대료 부담
    owner_circumstances = "owner_circumstances"  # 대표자 사정 (건강, 가족, 은퇴)
    relocation = "relocation"  # 이전
    closure_filed = "closure_filed"  # 폐업 신고
    restart_planned = "restart_planned"  # 재창업 준비
    correction = "correction"  # 잘못 기록된 단계의 정정
    other = "other"  # a reason was given, none of the above (its words: intake's table only)
    not_given = "not_given"  # no reason was given


def stage_reason_code_of_text(reason: str | None) -> StageChangeReason:
    """The code of a stage change that has only free text (a v1 event, or a request without a
    code): `not_given` when there is no text (or only blanks), `other` when there is some.
    The text itself is never read further: it may name people, and the code must not carry it."""
    return StageChangeReason.other if reason and reason.strip() else StageChangeReason.not_given


@contract("intake", "BusinessStageChanged", 1)
class BusinessStageChangedV1(Event):
    # Superseded by v2 (its free-text `reason` stays in the log as written). Its published
    # schema stays as it was: the same title, no description.
    model_config = ConfigDict(title="BusinessStageChanged")

    business_id: UUID
    from_stage: Stage
    to_stage: Stage
    reason: FreeTextSuperseded | None = None
    changed_on: date


@contract("intake", "BusinessStageChanged", 2)
class BusinessStageChanged(Event):
    business_id: UUID
    from_stage: Stage
    to_stage: Stage
    reason_code: StageChangeReason = Field(StageChangeReason.not_given, description="why, as a code; the words given stay in intake")
    changed_on: date


@upcaster(BusinessStageChangedV1, BusinessStageChanged)
def business_stage_changed_v1_to_v2(old: BusinessStageChangedV1) -> BusinessStageChanged:
    """v1's free-text reason becomes a code by `stage_reason_code_of_text`; the text is dropped."""
    return BusinessStageChanged(
        business_id=old.business_id, from_stage=old.from_stage, to_stage=old.to_stage,
        reason_code=stage_reason_code_of_text(old.reason), changed_on=old.changed_on,
    )


@contract("intake", "SupportRequested", 1)
class SupportRequested(Event):
    request_id: UUID
    business_id: UUID
    needs: Annotated[list[Need], Field(min_length=1)]
    channel: Channel
    requested_on: date


class SupportResolution(StrEnum):
    """How a support request was resolved (SupportRequestResolved.outcome): what the center did."""

    advised = "advised"  # answered in house (consulting, information)
    referred = "referred"  # referred to a partner agency (referrals made it)
    loan_drafted = "loan_drafted"  # a loan application was drafted in loans
    visit_scheduled = "visit_scheduled"  # a planner's visit was scheduled


class SupportClosure(StrEnum):
    """Why a support request was closed without being resolved (SupportRequestClosed.outcome)."""

    withdrawn_by_owner = "withdrawn_by_owner"  # the owner no longer wants it
    unreachable = "unreachable"  # the owner could not be reached
    duplicate = "duplicate"  # another request covers it
    out_of_scope = "out_of_scope"  # not something the center does


# The steps of a support request (open → assigned → in progress → resolved / closed). They
# carry ids and codes only: a note staff give with a step stays in intake's
# support_request_steps, blanked on BusinessErased. `assignee` is a staff subject id.


@contract("intake", "SupportRequestAssigned", 1)
class SupportRequestAssigned(Event):
    request_id: UUID
    business_id: UUID
    assignee: Ident = Field(description="the staff subject id now responsible, e.g. S-1001")
    previous_assignee: Ident | None = Field(None, description="set on a reassignment")
    assigned_at: datetime


@contract("intake", "SupportRequestStarted", 1)
class SupportRequestStarted(Event):
    request_id: UUID
    business_id: UUID
    assignee: Ident
    started_at: datetime


@contract("intake", "SupportRequestResolved", 1)
class SupportRequestResolved(Event):
    request_id: UUID
    business_id: UUID
    outcome: SupportResolution
    resolved_at: datetime


@contract("intake", "SupportRequestClosed", 1)
class SupportRequestClosed(Event):
    request_id: UUID
    business_id: UUID
    outcome: SupportClosure
    closed_at: datetime


class BusinessDetail(StrEnum):
    """A business's detail that `PATCH /businesses/{id}` may change."""

    name = "name"
    dong = "dong"
    industry = "industry"
    employees = "employees"
    address = "address"  # named in `changed` only: the address itself stays in intake


@contract("intake", "BusinessDetailsChanged", 1)
class BusinessDetailsChanged(Event):
    """A business's details changed: `changed` names every detail that changed, and the new
    value of each that BusinessRegistered carries (absent: unchanged). The address never
    travels (a sole proprietor's place of business may be their home); the micro-business
    flag is recomputed from the new facts and carried when it changed."""

    business_id: UUID
    changed: Annotated[list[BusinessDetail], Field(min_length=1)]
    name: Annotated[PublicName, Field(min_length=1, max_length=200)] | None = None
    dong: Code | None = None
    industry: Code | None = None
    employees: Annotated[int, Field(ge=0)] | None = None
    is_micro_business: bool | None = None
    changed_on: date


@contract("intake", "ConsentGiven", 1)
class ConsentGiven(Event):
    """The owner agreed to share their personal data with these agencies (개인정보 제3자 제공 동의)."""

    consent_id: UUID
    business_id: UUID
    agencies: Annotated[list[AgencyCode], Field(min_length=1)]
    given_at: datetime


@contract("intake", "ConsentWithdrawn", 1)
class ConsentWithdrawn(Event):
    consent_id: UUID
    business_id: UUID
    agencies: Annotated[list[AgencyCode], Field(min_length=1)]
    withdrawn_at: datetime


@contract("intake", "BusinessErased", 1)
class BusinessErased(Event):
    """The owner's personal data was erased on request: every service removes or
    anonymises what it holds about that owner."""

    business_id: UUID
    erased_at: datetime
