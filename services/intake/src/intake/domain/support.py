"""Support requests: what a business asks the center for, through which channel, and the
request's life at the desk (who holds it, how it ended)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from uuid import UUID

from sangsaeng_common.contracts.common import Channel, Need


class SupportRequestRefused(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def check_request(*, needs: Iterable[Need], channel: Channel, visit_id: UUID | None, requested_on: date, today: date) -> list[Need]:
    """The needs, each once in the order named; SupportRequestRefused names what is wrong."""
    ordered = list(dict.fromkeys(needs))
    if not ordered:
        raise SupportRequestRefused("needs", "name at least one need")
    if visit_id is not None and channel is not Channel.visit:
        raise SupportRequestRefused("visit_id", "only a request made during a visit (channel visit) names a visit")
    if requested_on > today:
        raise SupportRequestRefused("requested_on", "lies in the future")
    return ordered


# ---------------------------------------------------------------- the lifecycle
#
#     open ──assign──▶ assigned ──start──▶ in_progress ──resolve──▶ RESOLVED
#                        ▲  │ reassign                   │
#                        └──┘◀────────reassign───────────┘
#     open / assigned / in_progress ──close──▶ CLOSED
#
# A reassignment of work in progress goes back to `assigned`: the new assignee has not started.


class SupportStatus(StrEnum):
    open = "open"
    assigned = "assigned"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"


class SupportStep(StrEnum):
    assign = "assign"
    start = "start"
    resolve = "resolve"
    close = "close"


FINAL_STATUSES = frozenset({SupportStatus.resolved, SupportStatus.closed})

_MOVES: dict[tuple[SupportStatus, SupportStep], SupportStatus] = {
    (SupportStatus.open, SupportStep.assign): SupportStatus.assigned,
    (SupportStatus.assigned, SupportStep.assign): SupportStatus.assigned,
    (SupportStatus.in_progress, SupportStep.assign): SupportStatus.assigned,
    (SupportStatus.assigned, SupportStep.start): SupportStatus.in_progress,
    (SupportStatus.in_progress, SupportStep.resolve): SupportStatus.resolved,
    (SupportStatus.open, SupportStep.close): SupportStatus.closed,
    (SupportStatus.assigned, SupportStep.close): SupportStatus.closed,
    (SupportStatus.in_progress, SupportStep.close): SupportStatus.closed,
}


def allowed_steps(status: SupportStatus) -> tuple[SupportStep, ...]:
    return tuple(step for (s, step) in _MOVES if s is status)


class SupportStepRefused(ValueError):
    """A step the request's current status does not allow (HTTP 409, naming the status)."""

    def __init__(self, current: SupportStatus, step: SupportStep):
        self.current, self.step, self.allowed = current, step, allowed_steps(current)
        allowed = ", ".join(s.value for s in self.allowed) or "none (final)"
        super().__init__(f"a support request that is {current.value} cannot {step.value}; allowed: {allowed}")


@dataclass(frozen=True)
class Move:
    """What a step does: the status after it, and the assignee after it."""

    status: SupportStatus
    assignee: str | None
    changes: bool  # False: a repeat (the same assignee again) that changes nothing


def move(current: SupportStatus, assignee: str | None, step: SupportStep, *, new_assignee: str | None = None) -> Move:
    """The request's next state after `step`; SupportStepRefused if the status forbids it.

    Assigning the person already assigned changes nothing (no event); anyone else is a
    reassignment."""
    if (current, step) not in _MOVES:
        raise SupportStepRefused(current, step)
    if step is SupportStep.assign:
        if new_assignee is None:
            raise ValueError("an assignment names its assignee")
        if new_assignee == assignee and current is not SupportStatus.open:
            return Move(current, assignee, changes=False)
        return Move(_MOVES[(current, step)], new_assignee, changes=True)
    return Move(_MOVES[(current, step)], assignee, changes=True)
