"""Events published by referrals on `sangsaeng.referrals.events` (and, for ReferralSent,
ReferralBasisLost and ReferralPersonalDataShared, on the agency's own topic
`sangsaeng.agency.<code>.referrals`: what the agency must know of the referrals it holds)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import ConfigDict

from sangsaeng_common.contracts import Event, contract, upcaster
from sangsaeng_common.contracts.common import AgencyCode, Code, FreeTextSuperseded, Ident


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
    program: Code
    reason: Code  # the need or rule that made it, e.g. visit:education
    cause_event_id: UUID | None = None  # the event that caused it (also ce_causationid)
    personal_data_shared: bool = False  # only with the owner's consent covering this agency
    consent_id: UUID | None = None
    sent_at: datetime
    # Optional (added without a new version):
    referred_on: date | None = None  # the causing event's own date (visited_on, requested_on)
    application_id: UUID | None = None  # for a guarantee referral: the loan application it serves
    amount_krw: int | None = None  # for a guarantee referral: the amount asked for


@contract("referrals", "ReferralAcknowledged", 1)
class ReferralAcknowledged(Event):
    referral_id: UUID
    business_id: UUID
    agency: AgencyCode
    agency_reference: Ident
    acknowledged_at: datetime


@contract("referrals", "ReferralCompleted", 1)
class ReferralCompletedV1(Event):
    # Superseded by v2 (the agency's free-text note). Its published schema stays as it was.
    model_config = ConfigDict(title="ReferralCompleted")

    referral_id: UUID
    business_id: UUID
    agency: AgencyCode
    outcome: ReferralOutcome
    amount_krw: int | None = None  # e.g. the guaranteed amount
    application_id: UUID | None = None  # the loan application a guarantee referral serves
    completed_on: date
    note: FreeTextSuperseded | None = None


@contract("referrals", "ReferralCompleted", 2)
class ReferralCompleted(Event):
    """The agency's outcome. Its note (the agency's words) stays in referrals (referrals.outcome_note,
    blanked on erasure): GET /referrals/{id} shows it to those allowed to read it."""

    referral_id: UUID
    business_id: UUID
    agency: AgencyCode
    outcome: ReferralOutcome
    amount_krw: int | None = None  # e.g. the guaranteed amount
    application_id: UUID | None = None  # the loan application a guarantee referral serves
    completed_on: date


@upcaster(ReferralCompletedV1, ReferralCompleted)
def referral_completed_v1_to_v2(old: ReferralCompletedV1) -> ReferralCompleted:
    """Everything but the note, which is dropped (the outcome is already a code)."""
    return ReferralCompleted(referral_id=old.referral_id, business_id=old.business_id, agency=old.agency, outcome=old.outcome,
                             amount_krw=old.amount_krw, application_id=old.application_id, completed_on=old.completed_on)


class BasisLost(StrEnum):
    consent_withdrawn = "consent_withdrawn"  # the consent it was shared under no longer covers the agency
    business_erased = "business_erased"  # the owner had the business erased


@contract("referrals", "ReferralBasisLost", 1)
class ReferralBasisLost(Event):
    """A referral the agency holds lost its basis: stop using the personal data it came with
    (`delete_personal_data`: it was shared with personal data, which the agency must delete);
    after an erasure, the business is not to be contacted about it at all."""

    referral_id: UUID
    business_id: UUID
    agency: AgencyCode
    basis: BasisLost
    consent_id: UUID | None = None  # the withdrawn consent (basis consent_withdrawn)
    delete_personal_data: bool
    lost_at: datetime


@contract("referrals", "ReferralPersonalDataShared", 1)
class ReferralPersonalDataShared(Event):
    """A referral sent earlier without personal data (no consent covered the agency then)
    may now be worked with the owner's personal data: the owner's consent covers the agency.
    The agency fetches the contact data through its usual channel under `consent_id`;
    contact data never travels in events."""

    referral_id: UUID
    business_id: UUID
    agency: AgencyCode
    program: Code
    consent_id: UUID
    shared_at: datetime


AGENCY_EVENTS = (ReferralSent, ReferralBasisLost, ReferralPersonalDataShared)  # what an agency's topic carries


def agency_topic(agency: AgencyCode | str) -> str:
    """The agency's own topic: ReferralSent meant for it, and nothing else (grant it read
    access to this topic only)."""
    return f"sangsaeng.agency.{AgencyCode(agency).value}.referrals"
