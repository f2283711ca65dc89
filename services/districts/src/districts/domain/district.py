"""A district's lifecycle and which member stores count.

    proposed ──review──▶ under_review ──designate──▶ designated
        │                    ▲   │                       │
        │                    │   └──────revoke──────┐    │ falls below the rule, or staff:
        └────revoke────▶ revoked ◀──────revoke──────┴────┤ review (back to under_review)
                                                          ▼
A store counts only if its point lies inside the boundary and its business is operating."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


class State(StrEnum):
    proposed = "proposed"
    under_review = "under_review"
    designated = "designated"
    revoked = "revoked"


# Which command may move a district from which state.
ALLOWED: dict[str, frozenset[State]] = {
    "review": frozenset({State.proposed, State.designated}),
    "designate": frozenset({State.under_review}),
    "revoke": frozenset({State.proposed, State.under_review, State.designated}),
    "change_members": frozenset({State.proposed, State.under_review, State.designated}),
}

COUNTING_STAGES = frozenset({"operating"})


class NotAllowed(Exception):
    def __init__(self, command: str, state: State):
        allowed = sorted(s.value for s in ALLOWED[command])
        super().__init__(f"a {state.value} district cannot {command.replace('_', ' ')} (only {', '.join(allowed)})")
        self.command, self.state, self.allowed = command, state, allowed


def require(command: str, state: State) -> None:
    if state not in ALLOWED[command]:
        raise NotAllowed(command, state)


@dataclass(frozen=True)
class Member:
    business_id: UUID
    inside_boundary: bool
    stage: str | None  # the business's stage as districts last heard it from intake (None: unknown)

    @property
    def counts(self) -> bool:
        return self.inside_boundary and self.stage in COUNTING_STAGES


def counted(members: Iterable[Member]) -> list[UUID]:
    """The member stores that count toward designation, in a stable order."""
    return sorted((m.business_id for m in members if m.counts), key=str)


def counted_area(polygon_area_m2: float, excluded_area_m2: float) -> float:
    return max(polygon_area_m2 - excluded_area_m2, 0.0)
