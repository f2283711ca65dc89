"""A referral's life and the consent gate.

    held ──(consent covers the agency)──▶ sent ──▶ acknowledged ──▶ completed
      └──(business erased)──▶ cancelled          └─────────────────────▲

A referral is `held` while it would need the owner's contact and no consent covers the
agency; it is `sent` with `personal_data_shared` when consent covers the agency, or without
personal data when the agency's rule allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from uuid import UUID

from sangsaeng_common.contracts.referrals import ReferralOutcome
from referrals.domain.agencies import LOAN_GUARANTEE, ConsentRule


class State(StrEnum):
    held = "held"
    sent = "sent"
    acknowledged = "acknowledged"
    completed = "completed"
    cancelled = "cancelled"


VISIBLE_TO_AGENCY = (State.sent, State.acknowledged, State.completed)


@dataclass(frozen=True)
class Gate:
    state: State
    personal_data_shared: bool
    consent_id: UUID | None


def gate(rule: ConsentRule, consent_id: UUID | None) -> Gate:
    """What the consent gate does with a new referral, given the active consent (if any)
    covering its agency."""
    if consent_id is not None:
        return Gate(State.sent, True, consent_id)
    if rule is ConsentRule.send_without:
        return Gate(State.sent, False, None)
    return Gate(State.held, False, None)


class Conflict(Exception):
    """The answer contradicts what the agency said before (HTTP 409)."""


class Refused(ValueError):
    """The answer is malformed for this referral (HTTP 422 on `field`)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def acknowledge(state: State, current_reference: str | None, reference: str) -> bool:
    """True if the acknowledgement changes the referral, False if it repeats one already
    given (a no-op); raises Conflict if it contradicts one."""
    if state is State.sent:
        return True
    if state in (State.acknowledged, State.completed):
        if current_reference == reference:
            return False
        if current_reference is None:
            raise Conflict("the referral was completed without an acknowledgement")
        raise Conflict(f"already acknowledged with reference {current_reference!r}")
    raise Conflict(f"the referral is {state.value}")


GUARANTEE_OUTCOMES = (ReferralOutcome.guarantee_issued, ReferralOutcome.guarantee_declined)


def check_outcome(program: str, outcome: ReferralOutcome, amount_krw: int | None) -> None:
    if outcome in GUARANTEE_OUTCOMES and program != LOAN_GUARANTEE:
        raise Refused("outcome", f"{outcome.value} answers only a {LOAN_GUARANTEE} referral")
    if outcome is ReferralOutcome.guarantee_issued and amount_krw is None:
        raise Refused("amount_krw", "is required when a guarantee is issued")
    if amount_krw is not None and amount_krw <= 0:
        raise Refused("amount_krw", "must be a positive amount of won")


def complete(state: State, current: tuple[str | None, int | None] | None, outcome: ReferralOutcome, amount_krw: int | None) -> bool:
    """True if the outcome completes the referral, False if it repeats the recorded one;
    raises Conflict if a different outcome was recorded or the referral was never sent."""
    if state in (State.sent, State.acknowledged):
        return True
    if state is State.completed:
        if current == (outcome.value, amount_krw):
            return False
        raise Conflict(f"already completed with outcome {current[0] if current else None!r}")
    raise Conflict(f"the referral is {state.value}")


def sent_on(referred_on: date, released_on: date | None) -> date:
    """The day the agency got the referral, in the events' own time (not the wall clock)."""
    return max(referred_on, released_on) if released_on else referred_on


def is_overdue(state: State, sent: date | None, as_of: date, days: int) -> bool:
    """Sent (acknowledged or not) and no outcome for more than `days`."""
    return state in (State.sent, State.acknowledged) and sent is not None and as_of - sent > timedelta(days=days)
