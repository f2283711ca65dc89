"""The HTTP API's request and response bodies (pydantic); routes turn them into commands."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.referrals import ReferralOutcome
from referrals.domain.agencies import Agency


class ProgramOut(BaseModel):
    code: str
    name: str
    description: str


class AgencyOut(BaseModel):
    code: AgencyCode
    name: str
    name_en: str
    consent_rule: str = Field(description="without the owner's consent: `hold` the referral, or `send_without` personal data")
    topic: str = Field(description="the agency's own Kafka topic")
    programs: list[ProgramOut]

    @classmethod
    def of(cls, agency: Agency, topic: str) -> AgencyOut:
        return cls(code=agency.code, name=agency.name, name_en=agency.name_en, consent_rule=agency.consent_rule.value, topic=topic,
                   programs=[ProgramOut(code=p.code, name=p.name, description=p.description) for p in agency.programs])


class Referral(BaseModel):
    id: UUID
    business_id: UUID
    agency: AgencyCode
    program: str
    reason: str = Field(description="the need or rule that made it, e.g. visit:education, support_request:insurance")
    origin: str = Field(description="what caused it: visit, support_request (intake's desk), guarantee (loans) or staff")
    cause_event_id: UUID | None = Field(description="the ce_id of the causing event (VisitRecorded, SupportRequested, GuaranteeRequested)")
    application_id: UUID | None
    amount_krw: int | None
    referred_on: date
    state: str
    personal_data_shared: bool
    consent_id: UUID | None
    consent_withdrawn_at: datetime | None
    sent_on: date | None
    sent_at: datetime | None
    sent_event_id: UUID | None
    agency_reference: str | None
    acknowledged_at: datetime | None
    outcome: ReferralOutcome | None
    outcome_amount_krw: int | None
    outcome_note: str | None
    completed_on: date | None
    cancel_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> Referral:
        return cls.model_validate({k: row[k] for k in cls.model_fields})


class OverdueReferral(Referral):
    days_waiting: int
    waiting_for: str  # acknowledgement | outcome


class ReferIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"business_id": "0197a0c4-5e2b-7c3e-9a51-2f1d3c4b5a69", "agency": "KOSME",
                                         "program": "policy_funds", "reason": "수출 준비 상담"}]},
    )

    business_id: UUID
    agency: AgencyCode
    program: Annotated[str, Field(min_length=1, max_length=80)]
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "staff"
    referred_on: date | None = Field(None, description="default today (Seoul)")


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"agency_reference": "SCGF-2025-000123"}]})

    agency_reference: Annotated[str, Field(min_length=1, max_length=100)]


class OutcomeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "guarantee_issued", "amount_krw": 30000000, "note": "보증서 발급"}]},
    )

    outcome: ReferralOutcome
    amount_krw: int | None = Field(None, description="required for guarantee_issued: the guaranteed amount in won")
    note: Annotated[str, Field(max_length=1000)] | None = None
    completed_on: date | None = Field(None, description="default today (Seoul)")
