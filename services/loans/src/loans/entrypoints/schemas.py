"""The HTTP API's request and response bodies (pydantic); the routes turn requests into
the service layer's commands (loans.service_layer.commands)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sangsaeng_common.contracts.loans import FailedRule, LoanProgram, WithdrawalReason
from loans.domain.states import Status

Won = Annotated[int, Field(strict=True, gt=0, le=10_000_000_000, description="whole Korean won")]


class Purpose(StrEnum):
    operating = "operating"  # 운전자금 (working capital)
    facility = "facility"  # 시설자금


class Document(StrEnum):
    application_form = "application_form"  # 융자 신청서
    fund_use_plan = "fund_use_plan"  # 자금 사용 계획서
    sme_confirmation = "sme_confirmation"  # 소상공인·중소기업 확인서
    business_registration = "business_registration"  # 사업자등록증
    tax_clearance = "tax_clearance"  # 납세 증명서


APPLICATION_EXAMPLE = {
    "business_id": "0197a0c4-5e2b-7c3e-9a51-2f1d3c4b5a69",
    "program": "sme_development_fund",
    "amount_krw": 30000000,
    "purpose": "operating",
    "term_months": 60,
    "documents": ["application_form", "fund_use_plan", "sme_confirmation"],
    "submitted_on": "2025-05-02",
}


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [APPLICATION_EXAMPLE]})

    business_id: UUID
    program: LoanProgram
    amount_krw: Won
    purpose: Purpose
    term_months: int | None = Field(None, ge=1, le=120)
    documents: list[Document] = Field(default_factory=list, description="the documents handed in (checklist)")
    submitted_on: date | None = Field(None, description="default today (Seoul)")


class SubmitDraftIn(ApplicationIn):
    """Completing a draft: the same fields, the business comes from the draft."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{k: v for k, v in APPLICATION_EXAMPLE.items() if k != "business_id"}]})

    business_id: UUID | None = None  # type: ignore[assignment]


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"decision": "approve", "amount_krw": 30000000, "decided_on": "2025-05-30"},
                {"decision": "reject", "reasons": ["상환 능력 부족: 최근 3개월 매출 급감"]},
            ]
        },
    )

    decision: Literal["approve", "reject"]
    amount_krw: Won | None = Field(None, description="approve: the amount lent (default the amount asked; never above the limit)")
    reasons: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(default_factory=list, max_length=20)
    decided_on: date | None = Field(None, description="default today (Seoul); not before the submission, not in the future")


class DisbursementIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"disbursed_on": "2025-06-02"}, {"disbursed_on": "2025-06-02", "annual_rate_pct": "4.800"}]}
    )

    disbursed_on: date | None = Field(None, description="default today (Seoul)")
    annual_rate_pct: Decimal | None = Field(
        None, ge=0, le=30, description="the partner bank's rate (bank cooperation); the fund's rate is fixed by its terms"
    )


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "사장님이 다른 자금을 확보함"}]})

    reason: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="free text; kept in loans only (LoanWithdrawn carries reason_code), blanked on erasure"
    )
    reason_code: WithdrawalReason | None = Field(None, description="why, as a code (what the event carries); default `other`")


class RoundIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"program": "sme_development_fund", "name": "2026년 상반기", "opens_on": "2026-04-20",
                                         "closes_on": "2026-09-15", "budget_krw": 3000000000}]},
    )

    program: LoanProgram = LoanProgram.sme_development_fund
    name: Annotated[str, Field(min_length=1, max_length=200)]
    opens_on: date
    closes_on: date | None = None
    budget_krw: Annotated[int, Field(strict=True, ge=0, le=1_000_000_000_000)]


class RepaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount_krw": 37500, "paid_on": "2025-07-02"}]})

    amount_krw: Won = Field(description="what the borrower paid; applied to the schedule's instalments in order, interest before principal")
    paid_on: date | None = Field(None, description="default today (Seoul); not before the last recorded repayment, not in the future")


class RecordedRepayment(BaseModel):
    id: UUID
    position: int
    paid_on: date
    amount_krw: int
    principal_krw: int
    interest_krw: int
    outstanding_principal_krw: int
    recorded_by: str = Field(description="the subject id of who recorded it")
    recorded_at: datetime


class NextDue(BaseModel):
    number: int
    due_on: date
    payable_krw: int


class RepaymentPosition(BaseModel):
    as_of: date = Field(description="today in Seoul: arrears are as of this day")
    outstanding_principal_krw: int
    principal_repaid_krw: int
    interest_paid_krw: int
    owed_krw: int = Field(description="what the schedule still asks for, due or not")
    repaid_on: date | None
    in_arrears: bool
    overdue_krw: int
    overdue_instalments: list[int]
    arrears_grace_days: int
    next_due: NextDue | None
    repayments: list[RecordedRepayment]


class Application(BaseModel):
    id: UUID
    business_id: UUID
    status: Status
    origin: str = Field(description="staff, visit or support_request: who started it (a draft's cause)")
    visit_id: UUID | None
    support_request_id: UUID | None = Field(None, description="the support request whose need made the draft")
    program: LoanProgram | None
    amount_krw: int | None
    purpose: str | None
    term_months: int | None
    documents: list[str]
    submitted_on: date | None
    # Who did what, as subject ids (pseudonymous staff numbers): the segregation of duties
    # refuses a decision or disbursement by the submitter or the drafter.
    drafted_by: str | None = Field(None, description="who recorded the visit (or took the desk request) that made the draft")
    submitted_by: str | None = None
    decided_by: str | None = None
    disbursed_by: str | None = None
    screened_on: date | None
    eligible: bool | None
    failed_rules: list[FailedRule]
    round_id: str | None
    reserved_krw: int
    guarantee_requested_on: date | None
    guarantee_outcome: str | None
    guarantee_amount_krw: int | None
    guarantee_timed_out_on: date | None
    decided_on: date | None
    approved_amount_krw: int | None
    decision_reasons: list[str] | None
    disbursed_on: date | None
    annual_rate_pct: Decimal | None
    schedule: dict[str, Any] | None = None
    withdrawn_on: date | None
    withdraw_reason: str | None
    outstanding_principal_krw: int | None = Field(None, description="principal still owed (null before disbursement)")
    repaid_on: date | None = None
    repayment: RepaymentPosition | None = Field(None, description="a disbursed loan's repayments and standing today (one application's answer only)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any, *, with_schedule: bool = True, repayment: dict[str, Any] | None = None) -> Application:
        data = dict(row)
        if not with_schedule:
            data["schedule"] = None
        return cls.model_validate({**data, "repayment": repayment})


class Round(BaseModel):
    id: str
    program: LoanProgram
    name: str
    opens_on: date
    closes_on: date | None
    budget_krw: int
    reserved_krw: int
    remaining_krw: int
    updated_at: datetime


class Program(BaseModel):
    code: LoanProgram
    name: str
    name_en: str
    money_from: str
    annual_rate_pct: Decimal | None = Field(description="fixed rate; null: the partner bank's rate")
    grace_months: int
    instalments: int
    max_term_months: int | None
    limit_micro_krw: int
    limit_sme_krw: int
    min_months_since_registration: int | None
    requires_district: bool
    excludes_current_fund_borrowers: bool
    uses_rounds: bool
    requires_guarantee: bool
    guarantee_agency: str | None
    subsidy_rate_pct: Decimal | None
    subsidy_months: int | None
    partner_bank: str | None
    district_contribution_krw: int | None
    guarantee_limit_krw: int | None
    allowed_purposes: list[str]
    required_documents: list[str]
    excluded_industries: list[str]
    district_dongs: list[str]
    rounds: list[Round]
    notes: str | None


class ProgramCount(BaseModel):
    program: LoanProgram
    applications: int
    requested_krw: int
    approved_krw: int
    disbursed_krw: int
    by_status: dict[str, int]
    outstanding_principal_krw: int = Field(description="principal still owed on the period's last day, of every loan disbursed by then")
    loans_outstanding: int = Field(description="how many loans owed principal that day")
    principal_repaid_krw: int = Field(description="principal repaid in the period (repayments by paid_on)")


class ApplicationReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    applications: int
    requested_krw: int
    approved_krw: int
    disbursed_krw: int
    outstanding_principal_krw: int
    principal_repaid_krw: int
    by_program: list[ProgramCount]
