"""Events published by intake on `sangsaeng.intake.events`. No personal data: owners'
names, contacts and resident numbers never leave intake's schema."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import Field

from sangsaeng_common.contracts import Event, contract
from sangsaeng_common.contracts.common import AgencyCode, Channel, Need


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
    name: Annotated[str, Field(min_length=1, max_length=200)]
    dong: str
    industry: str
    employees: Annotated[int, Field(ge=0)]
    is_micro_business: bool
    stage: Stage
    registered_on: date | None


@contract("intake", "BusinessStageChanged", 1)
class BusinessStageChanged(Event):
    business_id: UUID
    from_stage: Stage
    to_stage: Stage
    reason: str | None = None
    changed_on: date


@contract("intake", "SupportRequested", 1)
class SupportRequested(Event):
    request_id: UUID
    business_id: UUID
    needs: Annotated[list[Need], Field(min_length=1)]
    channel: Channel
    requested_on: date


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
