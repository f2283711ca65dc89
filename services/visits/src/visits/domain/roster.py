"""The planners' roster as data: what a territory may hold and the rule every change keeps,
"every administrative dong has at least one active planner" (a support request from any
dong must find someone: planning.assign refuses a dong nobody covers). Pure rules, no I/O.

A territory holds administrative dongs only (the 15 since July 2025); records naming a
former dong (용신동) are covered through its successors (planning.FORMER_DONGS).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from visits.domain.planning import DONGS, Planner

EVERY_DONG_COVERED = "every_dong_covered"  # the rule's name, in the 409 a refused change gets

PLANNER_ID = re.compile(r"^planner-[a-z0-9-]{1,40}$")
MAX_DAILY_CAPACITY = 40


def territory_errors(dongs: Iterable[str], field: str = "dongs") -> list[tuple[str, str]]:
    """(field, message) for each entry that is not an administrative dong, or repeats one."""
    errors, seen = [], set()
    for n, dong in enumerate(dongs):
        if dong not in DONGS:
            errors.append((f"{field}.{n}", f"{dong!r} is not one of the district's 15 administrative dongs: {', '.join(DONGS)}"))
        elif dong in seen:
            errors.append((f"{field}.{n}", f"{dong} is listed twice"))
        seen.add(dong)
    return errors


def in_district_order(dongs: Iterable[str]) -> list[str]:
    wanted = set(dongs)
    return [d for d in DONGS if d in wanted]


def uncovered(planners: Iterable[Planner]) -> list[str]:
    """The administrative dongs no active planner covers, in the district's order."""
    covered = {d for p in planners if p.active for d in p.territory}
    return [d for d in DONGS if d not in covered]


def uncovered_by_change(roster: Iterable[Planner], changed: Planner) -> list[str]:
    """The dongs `changed` (a planner's new state) would leave with no active planner, among
    those covered now. A dong uncovered already (a roster loaded before this rule) is not this
    change's fault and does not refuse it."""
    before = list(roster)
    after = [changed if p.id == changed.id else p for p in before]
    if all(p.id != changed.id for p in before):
        after.append(changed)
    was = set(uncovered(before))
    return [d for d in uncovered(after) if d not in was]


def with_changes(planner: Planner, *, daily_capacity: int | None = None, active: bool | None = None,
                 territory: Iterable[str] | None = None) -> Planner:
    return replace(
        planner,
        daily_capacity=planner.daily_capacity if daily_capacity is None else daily_capacity,
        active=planner.active if active is None else active,
        territory=planner.territory if territory is None else frozenset(territory),
    )
