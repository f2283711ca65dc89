"""The application's life as a pure state machine.

    draft ──submit──▶ submitted ──screen: eligible──────────────▶ awaiting_decision ──approve──▶ approved ──disburse──▶ DISBURSED
                          │     ──screen: eligible, guarantee──▶ awaiting_guarantee ──issued──▶ awaiting_decision
                          │                                         │ ──declined──▶ REJECTED
                          │                                         └─timed out──▶ guarantee_overdue ──issued / declined / reject
                          └──screen: not eligible──▶ REJECTED
    awaiting_decision ──reject──▶ REJECTED;   any open status ──withdraw──▶ WITHDRAWN
    awaiting_guarantee / guarantee_overdue / awaiting_decision ──screened again on the business's new facts: not eligible──▶ REJECTED

Final states: disbursed, rejected, withdrawn. Every other status has a way out to one of
them (checked by the unit tests), and the only waits on the outside world (the guarantee)
end by a timeout in a state staff can see and act on.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    draft = "draft"
    submitted = "submitted"
    awaiting_guarantee = "awaiting_guarantee"
    guarantee_overdue = "guarantee_overdue"
    awaiting_decision = "awaiting_decision"
    approved = "approved"
    rejected = "rejected"
    disbursed = "disbursed"
    withdrawn = "withdrawn"


class Action(StrEnum):
    submit = "submit"
    screen_eligible = "screen_eligible"
    screen_eligible_needs_guarantee = "screen_eligible_needs_guarantee"
    screen_ineligible = "screen_ineligible"
    rescreen_ineligible = "rescreen_ineligible"  # the business's details changed and the rules no longer hold
    guarantee_issued = "guarantee_issued"
    guarantee_declined = "guarantee_declined"
    guarantee_timed_out = "guarantee_timed_out"
    approve = "approve"
    reject = "reject"
    disburse = "disburse"
    withdraw = "withdraw"


FINAL: frozenset[Status] = frozenset({Status.disbursed, Status.rejected, Status.withdrawn})

TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.draft, Action.submit): Status.submitted,
    (Status.draft, Action.withdraw): Status.withdrawn,
    (Status.submitted, Action.screen_eligible): Status.awaiting_decision,
    (Status.submitted, Action.screen_eligible_needs_guarantee): Status.awaiting_guarantee,
    (Status.submitted, Action.screen_ineligible): Status.rejected,
    (Status.submitted, Action.withdraw): Status.withdrawn,
    (Status.awaiting_guarantee, Action.guarantee_issued): Status.awaiting_decision,
    (Status.awaiting_guarantee, Action.guarantee_declined): Status.rejected,
    (Status.awaiting_guarantee, Action.guarantee_timed_out): Status.guarantee_overdue,
    (Status.awaiting_guarantee, Action.withdraw): Status.withdrawn,
    (Status.awaiting_guarantee, Action.rescreen_ineligible): Status.rejected,
    (Status.guarantee_overdue, Action.rescreen_ineligible): Status.rejected,
    (Status.awaiting_decision, Action.rescreen_ineligible): Status.rejected,
    (Status.guarantee_overdue, Action.guarantee_issued): Status.awaiting_decision,
    (Status.guarantee_overdue, Action.guarantee_declined): Status.rejected,
    (Status.guarantee_overdue, Action.reject): Status.rejected,
    (Status.guarantee_overdue, Action.withdraw): Status.withdrawn,
    (Status.awaiting_decision, Action.approve): Status.approved,
    (Status.awaiting_decision, Action.reject): Status.rejected,
    (Status.awaiting_decision, Action.withdraw): Status.withdrawn,
    (Status.approved, Action.disburse): Status.disbursed,
    (Status.approved, Action.withdraw): Status.withdrawn,
}


class InvalidTransition(ValueError):
    def __init__(self, status: Status, action: Action):
        allowed = ", ".join(sorted(a.value for a in allowed_actions(status))) or "none (final)"
        super().__init__(f"an application that is {status.value} cannot {action.value}; allowed: {allowed}")
        self.status, self.action = status, action


def next_status(status: Status | str, action: Action) -> Status:
    status = Status(status)
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition(status, action) from None


def allowed_actions(status: Status | str) -> frozenset[Action]:
    status = Status(status)
    return frozenset(a for (s, a) in TRANSITIONS if s == status)


def is_final(status: Status | str) -> bool:
    return Status(status) in FINAL


# Statuses of an application screened but not decided: screened again when the business's
# details change (a submitted one is screened on the facts of its screening's moment anyway).
RESCREENED: frozenset[Status] = frozenset({Status.awaiting_guarantee, Status.guarantee_overdue, Status.awaiting_decision})


# Statuses an application holds budget in (its reservation is released on the way to
# rejected or withdrawn, and kept by disbursed).
HOLDS_RESERVATION: frozenset[Status] = frozenset(
    {Status.awaiting_guarantee, Status.guarantee_overdue, Status.awaiting_decision, Status.approved, Status.disbursed}
)
