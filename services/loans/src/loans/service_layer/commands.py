"""Commands: plain values, one dataclass per thing loans can be asked to do. The HTTP routes
and the consumers build them; the handlers (`handlers.py`) carry them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from sangsaeng_common.contracts.loans import LoanProgram, WithdrawalReason


@dataclass(frozen=True)
class SubmitApplication:
    business_id: UUID
    program: LoanProgram
    amount_krw: int
    purpose: str
    submitted_by: str
    term_months: int | None = None
    documents: frozenset[str] = frozenset()
    submitted_on: date | None = None  # default today (Seoul)


@dataclass(frozen=True)
class SubmitDraft:
    """Complete a visit's draft: the application's fields; the business comes from the draft."""

    application_id: UUID
    program: LoanProgram
    amount_krw: int
    purpose: str
    submitted_by: str
    business_id: UUID | None = None  # if given, it must be the draft's
    term_months: int | None = None
    documents: frozenset[str] = frozenset()
    submitted_on: date | None = None


@dataclass(frozen=True)
class Decide:
    application_id: UUID
    decision: Literal["approve", "reject"]
    decided_by: str  # subject id: neither the submitter nor the drafter (segregation of duties)
    amount_krw: int | None = None  # approve: default the amount asked
    reasons: tuple[str, ...] = field(default_factory=tuple)
    decided_on: date | None = None


@dataclass(frozen=True)
class Disburse:
    application_id: UUID
    disbursed_by: str  # subject id: neither the submitter nor the drafter (segregation of duties)
    disbursed_on: date | None = None
    annual_rate_pct: Decimal | None = None  # the partner bank's (bank cooperation)


@dataclass(frozen=True)
class Withdraw:
    application_id: UUID
    reason: str  # free text: kept in loans only
    reason_code: WithdrawalReason | None = None  # None: withdrawal_code_of_text(reason)


@dataclass(frozen=True)
class PutRound:
    round_id: str
    program: LoanProgram
    name: str
    opens_on: date
    closes_on: date | None
    budget_krw: int


@dataclass(frozen=True)
class ScreenApplication:
    """Screen a submitted application (from its LoanSubmitted), recording which event,
    partition and offset the screening came from."""

    application_id: UUID
    event_id: UUID
    kafka_partition: int
    kafka_offset: int


@dataclass(frozen=True)
class RecordRepayment:
    application_id: UUID
    amount_krw: int
    recorded_by: str  # the subject id of the loan officer or staff member
    paid_on: date | None = None  # default today (Seoul)
