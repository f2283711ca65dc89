"""Intake's commands: what a caller asks intake to do, as plain data (no HTTP, no pydantic).

The HTTP entrypoint builds them from its request bodies; field names are the input's own,
so a refusal names the field the caller sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sangsaeng_common.contracts.common import AgencyCode, Channel, Need
from sangsaeng_common.contracts.intake import Stage, StageChangeReason, SupportClosure, SupportResolution


@dataclass(frozen=True)
class RegisterBusiness:
    registration_number: str | None  # normalized (10 digits), or None for a would-be founder
    name: str
    dong: str
    address: str | None
    industry: str
    employees: int
    stage: Stage
    registered_on: date | None


@dataclass(frozen=True)
class ChangeStage:
    business_id: UUID
    stage: Stage
    reason: str | None  # free text: kept in intake's stage_changes only
    changed_on: date | None  # None: today (Seoul)
    reason_code: StageChangeReason | None = None  # None: stage_reason_code_of_text(reason)


@dataclass(frozen=True)
class AddOwner:
    business_id: UUID
    name: str
    relation: str
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class GiveConsent:
    business_id: UUID
    agencies: tuple[AgencyCode, ...]
    owner_id: UUID | None
    signed_by: str | None
    given_at: datetime | None  # None: now
    note: str | None


@dataclass(frozen=True)
class WithdrawConsent:
    business_id: UUID
    consent_id: UUID
    withdrawn_at: datetime | None  # None: now
    note: str | None


@dataclass(frozen=True)
class RequestSupport:
    business_id: UUID
    needs: tuple[Need, ...]
    channel: Channel
    requested_on: date | None  # None: today (Seoul)
    visit_id: UUID | None
    note: str | None


@dataclass(frozen=True)
class ChangeDetails:
    """A JSON merge patch of a business's details: only the members sent (null removes)."""

    business_id: UUID
    patch: dict[str, Any]
    if_match: int | None = None  # the version the caller last saw (If-Match), if it named one


@dataclass(frozen=True)
class AssignSupportRequest:
    request_id: UUID
    assignee: str  # a staff subject id
    note: str | None = None  # free text: kept in support_request_steps only


@dataclass(frozen=True)
class StartSupportRequest:
    request_id: UUID
    note: str | None = None


@dataclass(frozen=True)
class ResolveSupportRequest:
    request_id: UUID
    outcome: SupportResolution
    note: str | None = None


@dataclass(frozen=True)
class CloseSupportRequest:
    request_id: UUID
    outcome: SupportClosure
    note: str | None = None


@dataclass(frozen=True)
class ErasePersonalData:
    business_id: UUID
    requested_on: date | None  # None: today (Seoul)
    recorded_by: str  # the staff member who recorded the owner's request


@dataclass(frozen=True)
class TimelineEvent:
    """One event of any service, as the timeline keeps it (decoded by the consumer)."""

    event_id: UUID
    business_id: UUID
    type: str
    source: str
    time: datetime
    data: dict[str, Any]
