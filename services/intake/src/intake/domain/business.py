"""Businesses: who counts as a micro-business, where they may be, and how their stage moves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sangsaeng_common.contracts.intake import Stage

# Administrative dongs of Dongdaemun-gu since 1 July 2025 (용신동 was split in two).
DONGS: tuple[str, ...] = (
    "용두동", "신설동", "제기동", "전농1동", "전농2동", "답십리1동", "답십리2동", "장안1동",
    "장안2동", "청량리동", "회기동", "휘경1동", "휘경2동", "이문1동", "이문2동",
)
FORMER_DONGS: dict[str, date] = {"용신동": date(2025, 7, 1)}  # valid for records dated before

# Industries where a micro-business may have up to 9 regular employees instead of 4.
_TEN_EMPLOYEE_INDUSTRIES = ("광업", "제조", "건설", "운수")

ALLOWED_MOVES: dict[Stage, tuple[Stage, ...]] = {
    Stage.prospective: (Stage.operating,),
    Stage.operating: (Stage.closing,),
    Stage.closing: (Stage.closed, Stage.operating),
    Stage.closed: (Stage.restarting,),
    Stage.restarting: (Stage.operating,),
}


class StageChangeRefused(ValueError):
    def __init__(self, current: Stage, wanted: Stage):
        self.current, self.wanted = current, wanted
        self.allowed = ALLOWED_MOVES[current]
        allowed = ", ".join(s.value for s in self.allowed) or "none"
        super().__init__(f"cannot move from {current.value} to {wanted.value}; allowed from {current.value}: {allowed}")


def check_stage_move(current: Stage, wanted: Stage) -> None:
    if wanted not in ALLOWED_MOVES[current]:
        raise StageChangeRefused(current, wanted)


def is_micro_business(industry: str, employees: int) -> bool:
    limit = 10 if any(word in industry for word in _TEN_EMPLOYEE_INDUSTRIES) else 5
    return employees < limit


def dong_error(dong: str, dated: date | None) -> str | None:
    """Why `dong` is not acceptable for a record dated `dated`, or None."""
    if dong in DONGS:
        return None
    if dong in FORMER_DONGS:
        if dated is not None and dated < FORMER_DONGS[dong]:
            return None
        return f"{dong} was split on {FORMER_DONGS[dong].isoformat()}; use 용두동 or 신설동 for records dated after"
    return f"not an administrative dong of Dongdaemun-gu; one of: {', '.join(DONGS)}"


# ---------------------------------------------------------------- details (PATCH /businesses/{id})

# What a change of details may touch, in the order they are named.
DETAILS: tuple[str, ...] = ("name", "dong", "industry", "employees", "address")
REQUIRED_DETAILS = frozenset({"name", "dong", "industry", "employees"})  # may not become null


class DetailsRefused(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class DetailsChange:
    """The details that really change (new values), and the micro-business flag after them."""

    changed: dict[str, Any]
    is_micro_business: bool
    micro_changed: bool


def change_details(current: Mapping[str, Any], patch: Mapping[str, Any], today: date) -> DetailsChange:
    """Apply a JSON merge patch (RFC 7396) of details to the business `current` (its row):
    a member sets the value, null removes it (only the address may go); members equal to
    the current value change nothing. Validated like registration (the dong one of the 15
    today); the micro-business flag is recomputed by the registration's rule."""
    changed: dict[str, Any] = {}
    for field in DETAILS:
        if field not in patch:
            continue
        value = patch[field]
        if value is None and field in REQUIRED_DETAILS:
            raise DetailsRefused(field, "may not be removed (null)")
        if field == "dong" and (problem := dong_error(value, today)) is not None:
            raise DetailsRefused("dong", problem)
        if value != current[field]:
            changed[field] = value
    merged = {**{f: current[f] for f in ("industry", "employees")}, **changed}
    micro = is_micro_business(merged["industry"], merged["employees"])
    return DetailsChange(changed, micro, micro != current["is_micro_business"])
