"""The application state machine: allowed moves, refusals, and that every status can end."""

from __future__ import annotations

import pytest

from loans.domain.states import FINAL, TRANSITIONS, Action, InvalidTransition, Status, allowed_actions, is_final, next_status


def test_happy_paths_of_both_programs():
    fund = [Action.submit, Action.screen_eligible, Action.approve, Action.disburse]
    bank = [Action.submit, Action.screen_eligible_needs_guarantee, Action.guarantee_timed_out, Action.guarantee_issued,
            Action.approve, Action.disburse]
    for path in (fund, bank):
        status = Status.draft
        for action in path:
            status = next_status(status, action)
        assert status == Status.disbursed


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        (Status.submitted, Action.screen_ineligible, Status.rejected),
        (Status.awaiting_guarantee, Action.guarantee_declined, Status.rejected),
        (Status.guarantee_overdue, Action.guarantee_declined, Status.rejected),
        (Status.guarantee_overdue, Action.reject, Status.rejected),
        (Status.awaiting_decision, Action.reject, Status.rejected),
        (Status.approved, Action.withdraw, Status.withdrawn),
        (Status.draft, Action.withdraw, Status.withdrawn),
    ],
)
def test_endings(status, action, expected):
    assert next_status(status, action) == expected


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.draft, Action.approve),
        (Status.submitted, Action.approve),  # screening comes first
        (Status.awaiting_guarantee, Action.approve),  # the guarantee comes first
        (Status.approved, Action.reject),
        (Status.awaiting_decision, Action.disburse),
        (Status.rejected, Action.withdraw),
        (Status.disbursed, Action.withdraw),
        (Status.withdrawn, Action.submit),
        (Status.awaiting_decision, Action.guarantee_issued),  # a repeated guarantee answer
    ],
)
def test_refused_moves_name_what_is_allowed(status, action):
    with pytest.raises(InvalidTransition) as refused:
        next_status(status, action)
    assert status.value in str(refused.value)


def test_final_states_have_no_way_out_and_every_other_state_reaches_one():
    assert FINAL == {Status.disbursed, Status.rejected, Status.withdrawn}
    for status in FINAL:
        assert allowed_actions(status) == frozenset() and is_final(status)
    for status in Status:
        seen, frontier = {status}, [status]
        while frontier:
            current = frontier.pop()
            for (source, _), target in TRANSITIONS.items():
                if source == current and target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert seen & FINAL, f"{status} cannot reach a final state"
        # every open status can be withdrawn or rejected by a person: nothing waits forever
        if status not in FINAL:
            assert {Action.withdraw, Action.reject, Action.screen_ineligible} & allowed_actions(status) or status == Status.submitted
