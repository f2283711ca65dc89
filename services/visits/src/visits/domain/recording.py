"""Which needs call for a visit, and what a visit record must satisfy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.visits import FollowUp, VisitOutcome
from sangsaeng_common.pii import contains_resident_number
from visits.domain.planning import Planner

# Needs that a planner has to see on site: consulting happens at the shop, and closure
# or restart support starts with a look at the premises, the stock and the lease (희망리턴
# 패키지 consulting, demolition subsidy). Loans, guarantees, insurance and education are
# paperwork the center's desk handles from the request itself. Configurable: the default
# of `VisitPolicy.needs_calling_for_visit` (VISITS_NEEDS_CALLING_FOR_VISIT).
DEFAULT_VISIT_NEEDS: frozenset[Need] = frozenset({Need.consulting, Need.closure_support, Need.restart_support})


def calls_for_visit(needs: Iterable[Need], visit_needs: frozenset[Need] = DEFAULT_VISIT_NEEDS) -> bool:
    return any(need in visit_needs for need in needs)


def unique(needs: Iterable[Need]) -> list[Need]:
    """Each need once, in the order first named."""
    return list(dict.fromkeys(needs))


@dataclass(frozen=True)
class RecordCheck:
    visited_on: date
    today: date  # in Seoul
    planner_id: str
    planner: Planner | None
    dong: str  # the business's
    outcome: VisitOutcome
    services_given: list[str]
    follow_ups: list[FollowUp]
    override_reason: str | None
    texts: Mapping[str, str | None]  # free-text fields by name, checked for resident numbers


def record_errors(check: RecordCheck) -> list[tuple[str, str]]:
    """Every reason the record is refused, as (field, message); empty if it is acceptable."""
    errors: list[tuple[str, str]] = []
    if check.visited_on > check.today:
        errors.append(("visited_on", f"is in the future (today is {check.today.isoformat()} in Seoul)"))
    if check.planner is None:
        errors.append(("planner_id", f"no planner {check.planner_id}"))
    elif not check.planner.covers(check.dong) and not (check.override_reason or "").strip():
        errors.append(
            ("override_reason", f"{check.planner.id} does not cover {check.dong}; a visit outside the territory needs an override_reason")
        )
    if check.outcome is not VisitOutcome.met and check.services_given:
        errors.append(("services_given", f"nothing can be given on the spot when the outcome is {check.outcome.value}"))
    for i, follow_up in enumerate(check.follow_ups):
        if follow_up.due_on < check.visited_on:
            errors.append((f"follow_ups.{i}.due_on", "is before visited_on"))
    for field, text in check.texts.items():
        if text and contains_resident_number(text):
            errors.append((field, "contains a resident registration number (주민등록번호), which is never stored"))
    return errors


def free_texts(
    *, notes: str | None, override_reason: str | None, services_given: list[str], follow_ups: list[FollowUp]
) -> dict[str, str | None]:
    texts: dict[str, str | None] = {"notes": notes, "override_reason": override_reason}
    texts.update({f"services_given.{i}": s for i, s in enumerate(services_given)})
    texts.update({f"follow_ups.{i}.action": f.action for i, f in enumerate(follow_ups)})
    return texts
