"""Reporting periods: `2025H1`, `2025H2`, `2025Q2`, `2025-05`, `2025`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Period:
    name: str
    start: date  # inclusive
    end: date  # exclusive

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end

    def months(self) -> list[str]:
        out, year, month = [], self.start.year, self.start.month
        while date(year, month, 1) < self.end:
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def parse_period(text: str) -> Period:
    if m := re.fullmatch(r"(\d{4})H([12])", text):
        year, half = int(m[1]), int(m[2])
        return Period(text, _month_start(year, 1 + 6 * (half - 1)), _month_start(year, 7 + 6 * (half - 1)))
    if m := re.fullmatch(r"(\d{4})Q([1-4])", text):
        year, quarter = int(m[1]), int(m[2])
        return Period(text, _month_start(year, 1 + 3 * (quarter - 1)), _month_start(year, 4 + 3 * (quarter - 1)))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return Period(text, date(year, month, 1), _month_start(year, month + 1))
    if m := re.fullmatch(r"(\d{4})", text):
        return Period(text, date(int(m[1]), 1, 1), date(int(m[1]) + 1, 1, 1))
    raise ValueError("a period is YYYYH1, YYYYH2, YYYYQ1..Q4, YYYY-MM or YYYY")
