"""Public contests (공모사업): who may enter a call, until when, and what a result may award."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from districts.domain.district import State


class Eligibility(StrEnum):
    designated_only = "designated_only"  # only designated alley-type shopping districts
    any_district = "any_district"  # designated or not (e.g. a call that funds the designation work)


@dataclass(frozen=True)
class Refusal:
    rule: str  # deadline, eligibility, call_closed, budget
    message: str


def entry_refusals(*, eligibility: Eligibility, deadline: date, opens_on: date, district_state: State, entered_on: date) -> list[Refusal]:
    """Every rule an entry breaks (empty: it may enter)."""
    refusals = []
    if entered_on > deadline:
        refusals.append(Refusal("deadline", f"the call closed on {deadline}; the entry is dated {entered_on}"))
    if entered_on < opens_on:
        refusals.append(Refusal("not_open", f"the call opens on {opens_on}; the entry is dated {entered_on}"))
    if district_state is State.revoked:
        refusals.append(Refusal("eligibility", "a revoked district may enter no contest"))
    elif eligibility is Eligibility.designated_only and district_state is not State.designated:
        refusals.append(Refusal("eligibility", f"the call is for designated districts only; this one is {district_state.value}"))
    return refusals


def result_refusals(*, selected: bool, awarded_krw: int, budget_krw: int, awarded_so_far_krw: int) -> list[Refusal]:
    refusals = []
    if awarded_krw < 0:
        refusals.append(Refusal("awarded_krw", "cannot be negative"))
    if not selected and awarded_krw:
        refusals.append(Refusal("awarded_krw", "an entry not selected is awarded nothing"))
    if awarded_so_far_krw + awarded_krw > budget_krw:
        refusals.append(Refusal("budget", f"awards would total {awarded_so_far_krw + awarded_krw:,} won, over the call's budget of {budget_krw:,}"))
    return refusals
