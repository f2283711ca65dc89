"""Consent to third-party sharing (개인정보 제3자 제공 동의): when it may be given and withdrawn."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sangsaeng_common.contracts.common import AgencyCode

# Clocks of the counter PC and the server may disagree a little.
CLOCK_SKEW = timedelta(minutes=5)


class ConsentRefused(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def agencies_in_order(agencies: Iterable[AgencyCode]) -> list[AgencyCode]:
    """Each agency once, in the order first named."""
    return list(dict.fromkeys(agencies))


def check_moment(field: str, moment: datetime, now: datetime) -> None:
    if moment.tzinfo is None:
        raise ConsentRefused(field, "must carry a time zone, e.g. 2025-05-02T10:30:00+09:00")
    if moment > now + CLOCK_SKEW:
        raise ConsentRefused(field, "lies in the future")


def check_withdrawal(*, given_at: datetime, withdrawn_at: datetime | None, when: datetime, now: datetime) -> None:
    """Raise ConsentRefused unless a consent given at `given_at` (and withdrawn at
    `withdrawn_at`, if it was) may be withdrawn at `when`."""
    if withdrawn_at is not None:
        raise ConsentRefused("consent", f"was already withdrawn at {withdrawn_at.isoformat()}")
    check_moment("withdrawn_at", when, now)
    if when < given_at:
        raise ConsentRefused("withdrawn_at", f"is before the consent was given ({given_at.isoformat()})")
