"""Events published by loans on `sangsaeng.loans.events`."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sangsaeng_common.contracts import Event, contract

Won = Annotated[int, Field(gt=0, description="whole Korean won")]


class LoanProgram(StrEnum):
    sme_development_fund = "sme_development_fund"  # 중소기업육성기금
    bank_cooperation = "bank_cooperation"  # 시중은행 협력자금


class FailedRule(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    rule: str  # e.g. "min_months_since_registration"
    detail: str


@contract("loans", "LoanSubmitted", 1)
class LoanSubmitted(Event):
    application_id: UUID
    business_id: UUID
    program: LoanProgram
    amount_krw: Won
    purpose: str
    term_months: int | None = None
    submitted_on: date


@contract("loans", "LoanScreened", 1)
class LoanScreened(Event):
    application_id: UUID
    business_id: UUID
    program: LoanProgram
    eligible: bool
    failed_rules: list[FailedRule] = Field(default_factory=list)
    round_id: str | None = None  # the fund round whose budget the amount was reserved from
    reserved_krw: int = 0
    screened_on: date


@contract("loans", "GuaranteeRequested", 1)
class GuaranteeRequested(Event):
    application_id: UUID
    business_id: UUID
    amount_krw: Won
    agency: str = "SEOUL_CREDIT_GUARANTEE"
    requested_on: date


@contract("loans", "LoanApproved", 1)
class LoanApproved(Event):
    application_id: UUID
    business_id: UUID
    program: LoanProgram
    amount_krw: Won
    approved_on: date


@contract("loans", "LoanRejected", 1)
class LoanRejected(Event):
    application_id: UUID
    business_id: UUID
    program: LoanProgram
    reasons: list[str] = Field(min_length=1)
    rejected_on: date


@contract("loans", "LoanDisbursed", 1)
class LoanDisbursed(Event):
    application_id: UUID
    business_id: UUID
    program: LoanProgram
    amount_krw: Won
    disbursed_on: date
    annual_rate_pct: float
    grace_months: int
    instalments: int
    first_instalment_on: date
    # Optional (added without a new version): the district's interest subsidy (이차보전)
    # of a bank-cooperation loan, in percentage points of the rate, for this many months.
    subsidy_rate_pct: float | None = None
    subsidy_months: int | None = None


@contract("loans", "LoanWithdrawn", 1)
class LoanWithdrawn(Event):
    application_id: UUID
    business_id: UUID
    reason: str
    withdrawn_on: date


@contract("loans", "LoanDraftCreated", 1)
class LoanDraftCreated(Event):
    """A visit found a loan need: a draft application waits for staff to complete and submit it."""

    application_id: UUID
    business_id: UUID
    visit_id: UUID | None = None
    created_on: date


@contract("loans", "GuaranteeTimedOut", 1)
class GuaranteeTimedOut(Event):
    """The guarantee asked for by GuaranteeRequested did not answer in time; the application
    waits for staff (status guarantee_overdue). A late ReferralCompleted still moves it on."""

    application_id: UUID
    business_id: UUID
    requested_on: date
    timed_out_on: date
    timeout_days: float
