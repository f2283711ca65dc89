"""Events published by referrals on `sangsaeng.referrals.events` (and, for ReferralSent, on
the agency's own topic `sangsaeng.agency.<code>.referrals`)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from sangsaeng_common.contracts import Event, contract
from sangsaeng_common.contracts.common import AgencyCode


class ReferralOutcome(StrEnum):
    accepted = "accepted"
    declined = "declined"
    guarantee_issued = "guarantee_issued"
    guarantee_declined = "guarantee_declined"
    completed = "completed"


@contract("referrals", "ReferralSent", 1)
class ReferralSent(Event):
    referral_id: UUID
    business_id: UUID
    agency: AgencyCode
    program: str
    reason: str  # the need or rule that made it
    cause_event_id: UUID | None = None  # the event that caused it (also ce_causationid)
    personal_data_shared: bool = False  # only with the owner's consent covering this agency
    consent_id: UUID | None = None
    sent_at: datetime


@contract("referrals", "ReferralAcknowledged", 1)
class ReferralAcknowledged(Event):
    referral_id: UUID
    business_id: UUID
    agency: AgencyCode
    agency_reference: str
    acknowledged_at: datetime


@contract("referrals", "ReferralCompleted", 1)
class ReferralCompleted(Event):
    referral_id: UUID
    business_id: UUID
    agency: AgencyCode
    outcome: ReferralOutcome
    amount_krw: int | None = None  # e.g. the guaranteed amount
    application_id: UUID | None = None  # the loan application a guarantee referral serves
    completed_on: date
    note: str | None = None
