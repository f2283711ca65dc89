"""The assignment rule: covering planner, lightest ISO-week load, room that day, deterministic ties."""

from datetime import date, timedelta

import pytest

from visits.domain.planning import (
    DONGS,
    Assignment,
    NoPlannerCovers,
    Planner,
    assign,
    booking_window,
    iso_week,
    next_workday,
    week_load,
    week_start,
)

MON = date(2025, 5, 12)  # a Monday, ISO week 2025-W20


def planner(pid: str, *dongs: str, capacity: int = 6, active: bool = True) -> Planner:
    return Planner(pid, frozenset(dongs), capacity, active)


A = planner("planner-01", "제기동", "용두동")
B = planner("planner-02", "제기동", "청량리동")
C = planner("planner-03", "이문1동")


def test_only_covering_planners_are_candidates():
    assert assign("이문1동", MON, [A, B, C], {}) == Assignment("planner-03", MON)
    assert assign("용두동", MON, [A, B, C], {(A.id, MON): 5}) == Assignment("planner-01", MON)


def test_lightest_load_in_the_iso_week_wins_not_the_lightest_day():
    # A has nothing on Monday but 4 visits later that week; B has 2 on Monday.
    bookings = {(A.id, MON + timedelta(days=3)): 4, (B.id, MON): 2}
    assert assign("제기동", MON, [A, B], bookings).planner_id == "planner-02"


def test_load_of_another_week_does_not_count():
    bookings = {(A.id, MON - timedelta(days=1)): 6, (A.id, MON + timedelta(days=7)): 6, (B.id, MON + timedelta(days=2)): 1}
    assert week_load(bookings, A.id, MON) == 0
    assert assign("제기동", MON, [A, B], bookings).planner_id == "planner-01"


def test_ties_go_to_the_lighter_day_then_to_the_lower_id():
    assert assign("제기동", MON, [B, A], {}).planner_id == "planner-01"  # order given does not matter
    bookings = {(A.id, MON): 1, (B.id, MON + timedelta(days=1)): 1}  # same week load, B is free on Monday
    assert assign("제기동", MON, [A, B], bookings).planner_id == "planner-02"


def test_a_full_day_moves_to_another_covering_planner_then_to_the_next_workday():
    full_a = {(A.id, MON): 6}
    assert assign("제기동", MON, [A, B], full_a) == Assignment("planner-02", MON)
    both_full = {(A.id, MON): 6, (B.id, MON): 6}
    assert assign("제기동", MON, [A, B], both_full) == Assignment("planner-01", MON + timedelta(days=1))


def test_weekends_are_skipped():
    saturday = date(2025, 5, 17)
    assert assign("제기동", saturday, [A], {}) == Assignment("planner-01", date(2025, 5, 19))
    full_friday = {(A.id, date(2025, 5, 16)): 6}
    assert assign("제기동", date(2025, 5, 16), [A], full_friday).scheduled_for == date(2025, 5, 19)


def test_nobody_with_room_within_the_horizon_overbooks_the_first_workday():
    bookings = {(A.id, MON + timedelta(days=d)): 6 for d in range(0, 30)}
    result = assign("용두동", MON, [A], bookings, horizon_days=10)
    assert result == Assignment("planner-01", MON, over_capacity=True)


def test_inactive_planners_and_uncovered_dongs():
    with pytest.raises(NoPlannerCovers):
        assign("제기동", MON, [planner("planner-09", "제기동", active=False)], {})
    with pytest.raises(NoPlannerCovers):
        assign("역삼동", MON, [A, B, C], {})


def test_the_former_dong_is_covered_by_its_successors_planners():
    assert assign("용신동", MON, [A, C], {}).planner_id == "planner-01"
    assert planner("planner-04", "신설동").covers("용신동")


def test_assignment_spreads_a_week_evenly_over_the_covering_planners():
    bookings: dict = {}
    for _ in range(10):
        chosen = assign("제기동", MON, [A, B], bookings)
        key = (chosen.planner_id, chosen.scheduled_for)
        bookings[key] = bookings.get(key, 0) + 1
    assert week_load(bookings, A.id, MON) == week_load(bookings, B.id, MON) == 5
    assert all(n <= 6 for n in bookings.values())


def test_calendar_helpers():
    assert week_start(date(2025, 5, 18)) == MON and iso_week(MON) == "2025-W20"
    assert iso_week(date(2024, 12, 30)) == "2025-W01"
    assert next_workday(date(2025, 5, 17)) == date(2025, 5, 19) and next_workday(MON) == MON
    first, last = booking_window(date(2025, 5, 14), 20)
    assert first == MON and last.weekday() == 6 and last >= date(2025, 6, 3)


def test_the_default_roster_covers_every_dong():
    """The roster in migration 0003 is data; this reads it so the rule and the data agree."""
    import re
    from importlib import resources

    sql = resources.files("visits.migrations").joinpath("0003_default_planners.sql").read_text(encoding="utf-8")
    pairs = re.findall(r"\('(planner-\d+)', '([^']+동)'\)", sql)
    roster: dict[str, set[str]] = {}
    for pid, dong in pairs:
        roster.setdefault(pid, set()).add(dong)
    assert len(roster) == 8
    assert {d for ds in roster.values() for d in ds} == set(DONGS)
    planners = [planner(pid, *ds) for pid, ds in roster.items()]
    for dong in DONGS:
        assert assign(dong, MON, planners, {}).planner_id in roster
