"""An event's business date: the day the activity happened, by which the report counts it and
`export --period` selects it (contracts/ledger.md states the rule for auditors).

The first present of the event type's own date fields (a visit by `visited_on`, an application
by `submitted_on`, a referral by `referred_on`, else `sent_at`); for any other type its data's
first `*_on` field; else its CloudEvents time as a date in Asia/Seoul. A back-dated half-year
(the demo's H1 2025, recorded later) is dated by when things happened, not when they were published.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from audit.domain.events import LedgerEvent

SEOUL = ZoneInfo("Asia/Seoul")

DATE_FIELDS: dict[str, tuple[str, ...]] = {
    "VisitRecorded": ("visited_on",),
    "LoanSubmitted": ("submitted_on",),
    "ReferralSent": ("referred_on", "sent_at"),
}


def business_date(event: LedgerEvent) -> date:
    fields = DATE_FIELDS.get(event.name) or tuple(name for name in event.data if name.endswith("_on"))
    for name in fields:
        try:
            if (day := event.day(name)) is not None:
                return day
        except ValueError:
            continue  # not a date: fall through to the next rule
    return event.time.astimezone(SEOUL).date()
