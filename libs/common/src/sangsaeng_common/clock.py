"""The Seoul clock every service reads "now" and "today" from, injected by the
composition root (never read from a global), so tests can shift it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

SEOUL = timezone(timedelta(hours=9))  # Korea keeps no daylight saving time


@dataclass(frozen=True)
class SeoulClock:
    """`offset_days` shifts this process's clock (tests only, e.g. a guarantee's timeout)."""

    offset_days: float = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(days=self.offset_days)

    def today(self) -> date:
        """Today's date in Seoul: business dates are Seoul dates."""
        return self.now().astimezone(SEOUL).date()
