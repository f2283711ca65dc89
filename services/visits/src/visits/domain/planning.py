"""Planners, territories and who gets a visit.

The assignment rule: among the active planners whose territory covers the business's
dong, on the first working day from `earliest` on which at least one of them still
has room (fewer visits that day than their daily capacity), pick the one with the
lightest load in that day's ISO week; ties go to the lighter day, then to the lower
planner id, so the same bookings always give the same answer. If nobody has room
within `horizon_days`, the visit is overbooked on the first working day to the
planner with the lightest week there (flagged, never refused: a support request
must not be lost because planners are busy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

# Administrative dongs of Dongdaemun-gu since 1 July 2025, in the district's order.
DONGS: tuple[str, ...] = (
    "용두동", "신설동", "제기동", "전농1동", "전농2동", "답십리1동", "답십리2동", "장안1동",
    "장안2동", "청량리동", "회기동", "휘경1동", "휘경2동", "이문1동", "이문2동",
)
# Records from before July 2025 may name a dong that was since split: whoever covers
# one of its successors covers it.
FORMER_DONGS: Mapping[str, tuple[str, ...]] = {"용신동": ("용두동", "신설동")}

WORKDAYS: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday to Friday

Bookings = Mapping[tuple[str, date], int]  # (planner id, day) -> visits booked that day


@dataclass(frozen=True)
class Planner:
    id: str
    territory: frozenset[str]
    daily_capacity: int
    active: bool = True

    def covers(self, dong: str) -> bool:
        return dong in self.territory or any(d in self.territory for d in FORMER_DONGS.get(dong, ()))


@dataclass(frozen=True)
class Assignment:
    planner_id: str
    scheduled_for: date
    over_capacity: bool = False


class NoPlannerCovers(LookupError):
    def __init__(self, dong: str):
        super().__init__(f"no active planner covers {dong}")
        self.dong = dong


def territory_dongs(dong: str) -> tuple[str, ...]:
    """The territory entries that cover `dong`: itself and, for a former dong, its successors."""
    return (dong, *FORMER_DONGS.get(dong, ()))


def week_start(day: date) -> date:
    """Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def next_workday(day: date, workdays: frozenset[int] = WORKDAYS) -> date:
    """`day` itself if it is a working day, else the next one."""
    while day.weekday() not in workdays:
        day += timedelta(days=1)
    return day


def booking_window(earliest: date, horizon_days: int) -> tuple[date, date]:
    """The days whose bookings `assign` needs: whole ISO weeks from `earliest` to the horizon."""
    last = earliest + timedelta(days=horizon_days)
    return week_start(earliest), week_start(last) + timedelta(days=6)


def week_load(bookings: Bookings, planner_id: str, day: date) -> int:
    monday = week_start(day)
    return sum(n for (pid, d), n in bookings.items() if pid == planner_id and week_start(d) == monday)


def assign(
    dong: str,
    earliest: date,
    planners: Iterable[Planner],
    bookings: Bookings,
    *,
    horizon_days: int = 20,
    workdays: frozenset[int] = WORKDAYS,
) -> Assignment:
    candidates = sorted((p for p in planners if p.active and p.covers(dong)), key=lambda p: p.id)
    if not candidates:
        raise NoPlannerCovers(dong)

    def rank(planner: Planner, day: date) -> tuple[int, int, str]:
        return week_load(bookings, planner.id, day), bookings.get((planner.id, day), 0), planner.id

    for offset in range(horizon_days + 1):
        day = earliest + timedelta(days=offset)
        if day.weekday() not in workdays:
            continue
        free = [p for p in candidates if bookings.get((p.id, day), 0) < p.daily_capacity]
        if free:
            return Assignment(min(free, key=lambda p: rank(p, day)).id, day)
    day = next_workday(earliest, workdays)
    return Assignment(min(candidates, key=lambda p: rank(p, day)).id, day, over_capacity=True)
