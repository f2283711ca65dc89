"""The commands referrals takes over HTTP: plain data, no HTTP models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.referrals import ReferralOutcome


@dataclass(frozen=True)
class ReferByHand:
    """Staff refer a business to an agency's program."""

    business_id: UUID
    agency: AgencyCode
    program: str
    reason: str
    referred_on: date | None  # default today (Seoul)
    by: str  # the principal's name


@dataclass(frozen=True)
class Acknowledge:
    """An agency received a referral sent to it."""

    referral_id: UUID
    agency: str  # the answering agency (its token's)
    agency_reference: str


@dataclass(frozen=True)
class RecordOutcome:
    """An agency's outcome for a referral sent to it."""

    referral_id: UUID
    agency: str  # the answering agency (its token's)
    outcome: ReferralOutcome
    amount_krw: int | None
    note: str | None
    completed_on: date | None  # default today (Seoul)
