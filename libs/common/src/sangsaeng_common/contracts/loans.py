"""Events published by loans on `sangsaeng.loans.events`."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sangsaeng_common.contracts import Event, contract, upcaster
from sangsaeng_common.contracts.common import Code, FreeTextSuperseded, Generated, Ident

Won = Annotated[int, Field(gt=0, description="whole Korean won")]


class LoanProgram(StrEnum):
    sme_development_fund = "sme_development_fund"  # 중소기업육성기금
    bank_cooperation = "bank_cooperation"  # 시중은행 협력자금


class FailedRule(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    rule: Code  # e.g. "min_months_since_registration"
    detail: Generated


@contract("loans", "LoanSubmitted", 1)
class LoanSubmitted(Event):
    application_id: UUID
    business_id: UUID
    program: LoanProgram
    amount_krw: Won
    purpose: Code  # operating | facility
    term_months: int | None = None
    submitted_on: date


@contract("loans", "LoanScreened", 1)
class LoanScreened(Event):
    application_id: UUID
    business_id: UUID
    program: LoanProgram
    eligible: bool
    failed_rules: list[FailedRule] = Field(default_factory=list)
    round_id: Ident | None = None  # the fund round whose budget the amount was reserved from
    reserved_krw: int = 0
    screened_on: date


@contract("loans", "GuaranteeRequested", 1)
class GuaranteeRequested(Event):
    application_id: UUID
    business_id: UUID
    amount_krw: Won
    agency: Code = "SEOUL_CREDIT_GUARANTEE"
    requested_on: date


@contract("loans", "LoanApproved", 1)
class LoanApproved(Event):
    application_id: UUID
    business_id: UUID
    program: LoanProgram
    amount_krw: Won
    approved_on: date


class RejectionReason(StrEnum):
    """Why an application was rejected (LoanRejected.v2): an eligibility rule it failed (the
    names of LoanScreened.failed_rules[].rule), the guarantee declined, or the loan officer's
    decision (their words stay in loans: applications.decision_reasons, blanked on erasure)."""

    business_known = "business_known"
    business_operating = "business_operating"
    place_of_business_in_district = "place_of_business_in_district"
    min_months_since_registration = "min_months_since_registration"
    excluded_industry = "excluded_industry"
    already_repaying_fund_loan = "already_repaying_fund_loan"
    amount_within_limit = "amount_within_limit"
    purpose_allowed = "purpose_allowed"
    term_within_program = "term_within_program"
    documents_complete = "documents_complete"
    round_open = "round_open"
    round_budget = "round_budget"
    guarantee_declined = "guarantee_declined"
    officer_decision = "officer_decision"


def rejection_codes_of_text(reasons: list[str]) -> list[RejectionReason]:
    """The codes of v1's free-text reasons, in order, without repeats: a reason written by
    loans itself starts with its rule's name and a colon (`min_months_since_registration: ...`,
    `guarantee_declined: ...`) and becomes that code; any other text is the officer's
    (`officer_decision`). Only a known rule name is taken from the text, never its words."""
    codes: list[RejectionReason] = []
    for reason in reasons:
        prefix = reason.split(":", 1)[0].strip() if ":" in reason else ""
        code = RejectionReason(prefix) if prefix in RejectionReason.__members__ else RejectionReason.officer_decision
        if code not in codes:
            codes.append(code)
    return codes


@contract("loans", "LoanRejected", 1)
class LoanRejectedV1(Event):
    # Superseded by v2 (free-text reasons). Its published schema stays as it was.
    model_config = ConfigDict(title="LoanRejected")

    application_id: UUID
    business_id: UUID
    program: LoanProgram
    reasons: list[FreeTextSuperseded] = Field(min_length=1)
    rejected_on: date


@contract("loans", "LoanRejected", 2)
class LoanRejected(Event):
    application_id: UUID
    business_id: UUID
    program: LoanProgram
    reason_codes: list[RejectionReason] = Field(min_length=1)
    rejected_on: date


@upcaster(LoanRejectedV1, LoanRejected)
def loan_rejected_v1_to_v2(old: LoanRejectedV1) -> LoanRejected:
    """v1's reasons become codes by `rejection_codes_of_text`; the words are dropped."""
    return LoanRejected(application_id=old.application_id, business_id=old.business_id, program=old.program,
                        reason_codes=rejection_codes_of_text(old.reasons), rejected_on=old.rejected_on)


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


class WithdrawalReason(StrEnum):
    """Why an application was withdrawn (LoanWithdrawn.v2). The words stay in loans
    (applications.withdraw_reason, blanked on erasure)."""

    applicant_request = "applicant_request"  # 신청인 요청
    funded_elsewhere = "funded_elsewhere"  # 다른 자금 이용
    business_closed = "business_closed"  # 폐업
    other = "other"  # words were given, none of the above
    not_given = "not_given"


def withdrawal_code_of_text(reason: str | None) -> WithdrawalReason:
    """The code of a withdrawal that has only words (v1, or a request without a code):
    `other` if there are any, else `not_given`. The words are never read further."""
    return WithdrawalReason.other if reason and reason.strip() else WithdrawalReason.not_given


@contract("loans", "LoanWithdrawn", 1)
class LoanWithdrawnV1(Event):
    # Superseded by v2 (free-text reason). Its published schema stays as it was.
    model_config = ConfigDict(title="LoanWithdrawn")

    application_id: UUID
    business_id: UUID
    reason: FreeTextSuperseded
    withdrawn_on: date


@contract("loans", "LoanWithdrawn", 2)
class LoanWithdrawn(Event):
    application_id: UUID
    business_id: UUID
    reason_code: WithdrawalReason
    withdrawn_on: date


@upcaster(LoanWithdrawnV1, LoanWithdrawn)
def loan_withdrawn_v1_to_v2(old: LoanWithdrawnV1) -> LoanWithdrawn:
    """v1's reason becomes a code by `withdrawal_code_of_text`; the words are dropped."""
    return LoanWithdrawn(application_id=old.application_id, business_id=old.business_id,
                         reason_code=withdrawal_code_of_text(old.reason), withdrawn_on=old.withdrawn_on)


@contract("loans", "LoanDraftCreated", 1)
class LoanDraftCreated(Event):
    """A visit or the desk found a loan (or guarantee) need: a draft application waits for staff to
    complete and submit it. Its cause is `visit_id` or `support_request_id`."""

    application_id: UUID
    business_id: UUID
    visit_id: UUID | None = None
    created_on: date
    # Optional (added without a new version):
    support_request_id: UUID | None = None  # the SupportRequested whose need made the draft
    program: LoanProgram | None = None  # the program it starts in (a guarantee need: bank_cooperation)


@contract("loans", "GuaranteeTimedOut", 1)
class GuaranteeTimedOut(Event):
    """The guarantee asked for by GuaranteeRequested did not answer in time; the application
    waits for staff (status guarantee_overdue). A late ReferralCompleted still moves it on."""

    application_id: UUID
    business_id: UUID
    requested_on: date
    timed_out_on: date
    timeout_days: float


@contract("loans", "LoanRepaymentRecorded", 1)
class LoanRepaymentRecorded(Event):
    """A repayment of a disbursed loan, applied to its schedule's instalments in order (each
    instalment's interest before its principal). Who recorded it is the envelope's actor."""

    application_id: UUID
    business_id: UUID
    program: LoanProgram
    repayment_id: UUID
    paid_on: date
    amount_krw: Won
    principal_krw: int = Field(ge=0, description="the part of the amount that repaid principal")
    interest_krw: int = Field(ge=0, description="the part that paid interest (the borrower's share, after any subsidy)")
    outstanding_principal_krw: int = Field(ge=0, description="principal still owed after this repayment")
    overdue_krw: int = Field(0, ge=0, description="what is still overdue after it, as of paid_on (0: the loan is current)")


@contract("loans", "LoanRepaid", 1)
class LoanRepaid(Event):
    """The loan's outstanding principal reached zero: the business no longer repays it (and
    a district-fund loan no longer excludes it from the fund)."""

    application_id: UUID
    business_id: UUID
    program: LoanProgram
    repaid_on: date
    principal_krw: Won
    repayments: int = Field(ge=1, description="how many repayments it took")


@contract("loans", "LoanInArrears", 1)
class LoanInArrears(Event):
    """An instalment's due date (plus the configured grace days) passed and the repayments paid
    by then did not cover it. One event per missed instalment; `in_arrears_on` is its business
    date (the first day it counted as missed), `noticed_on` when loans saw it (its Seoul today,
    or the business date of the late repayment that showed it)."""

    application_id: UUID
    business_id: UUID
    program: LoanProgram
    in_arrears_on: date
    instalment: int = Field(ge=1, description="the missed instalment's number in the schedule")
    due_on: date
    overdue_krw: Won = Field(description="unpaid of this instalment and the ones before it, on in_arrears_on")
    outstanding_principal_krw: int = Field(ge=0)
    noticed_on: date
