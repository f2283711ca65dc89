"""The desk's pure rules: a support request's life, and a change of a business's details."""

from __future__ import annotations

from datetime import date

import pytest

from intake.domain.business import DetailsRefused, change_details
from intake.domain.support import SupportStatus as S
from intake.domain.support import SupportStep as Step
from intake.domain.support import SupportStepRefused, allowed_steps, move

TODAY = date(2025, 8, 1)
SHOP = {"name": "동대문 바른분식", "dong": "제기동", "industry": "음식점업", "employees": 2, "address": "제기로 1", "is_micro_business": True}


def test_a_request_goes_open_assigned_in_progress_resolved():
    assigned = move(S.open, None, Step.assign, new_assignee="S-1001")
    assert (assigned.status, assigned.assignee, assigned.changes) == (S.assigned, "S-1001", True)
    started = move(assigned.status, assigned.assignee, Step.start)
    assert (started.status, started.assignee) == (S.in_progress, "S-1001")
    resolved = move(started.status, started.assignee, Step.resolve)
    assert (resolved.status, resolved.assignee) == (S.resolved, "S-1001")


def test_reassigning_work_in_progress_goes_back_to_assigned_and_the_same_assignee_changes_nothing():
    again = move(S.in_progress, "S-1001", Step.assign, new_assignee="S-1002")
    assert (again.status, again.assignee, again.changes) == (S.assigned, "S-1002", True)
    same = move(S.assigned, "S-1001", Step.assign, new_assignee="S-1001")
    assert (same.status, same.assignee, same.changes) == (S.assigned, "S-1001", False)
    assert move(S.in_progress, "S-1001", Step.assign, new_assignee="S-1001").changes is False


@pytest.mark.parametrize("status", [S.open, S.assigned, S.in_progress])
def test_any_open_request_may_be_closed(status):
    assert move(status, "S-1001", Step.close).status is S.closed


@pytest.mark.parametrize(
    ("status", "step"),
    [(S.open, Step.start), (S.open, Step.resolve), (S.assigned, Step.resolve), (S.resolved, Step.close), (S.closed, Step.assign),
     (S.resolved, Step.assign), (S.in_progress, Step.start)],
)
def test_a_step_the_status_does_not_allow_is_refused_naming_the_status(status, step):
    with pytest.raises(SupportStepRefused) as refused:
        move(status, "S-1001", step, new_assignee="S-1002")
    assert refused.value.current is status and status.value in str(refused.value)
    assert step not in refused.value.allowed


def test_resolved_and_closed_are_final_and_every_other_status_can_end():
    assert allowed_steps(S.resolved) == () and allowed_steps(S.closed) == ()
    for status in (S.open, S.assigned, S.in_progress):
        assert Step.close in allowed_steps(status)


def test_details_changed_are_only_those_that_differ_and_the_micro_flag_is_recomputed():
    change = change_details(SHOP, {"dong": "회기동", "name": "동대문 바른분식", "employees": 7}, TODAY)
    assert change.changed == {"dong": "회기동", "employees": 7}
    assert (change.is_micro_business, change.micro_changed) == (False, True)
    # Manufacturing: fewer than 10 employees is still a micro-business.
    factory = change_details(SHOP, {"industry": "의류 제조업", "employees": 7}, TODAY)
    assert (factory.is_micro_business, factory.micro_changed) == (True, False)
    assert change_details(SHOP, {"name": "동대문 바른분식"}, TODAY).changed == {}


def test_details_are_validated_like_registration():
    with pytest.raises(DetailsRefused) as refused:
        change_details(SHOP, {"dong": "강남동"}, TODAY)
    assert refused.value.field == "dong"
    with pytest.raises(DetailsRefused) as split:
        change_details(SHOP, {"dong": "용신동"}, TODAY)  # split on 2025-07-01
    assert split.value.field == "dong"
    with pytest.raises(DetailsRefused) as removed:
        change_details(SHOP, {"industry": None}, TODAY)
    assert removed.value.field == "industry"
    assert change_details(SHOP, {"address": None}, TODAY).changed == {"address": None}
