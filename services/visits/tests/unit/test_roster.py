"""The roster's rules: territories of administrative dongs only, and no change may leave a dong
without an active planner; the assignment rule takes a new planner as soon as it is there."""

from datetime import date

from visits.domain.planning import DONGS, Planner, assign
from visits.domain.roster import in_district_order, territory_errors, uncovered, uncovered_by_change, with_changes

MON = date(2025, 5, 12)


def planner(pid: str, *dongs: str, capacity: int = 6, active: bool = True) -> Planner:
    return Planner(pid, frozenset(dongs), capacity, active)


ALL = planner("planner-01", *DONGS)
JEGI = planner("planner-02", "제기동", "회기동")


def test_a_territory_holds_administrative_dongs_once_each():
    assert territory_errors(["제기동", "이문2동"]) == []
    errors = territory_errors(["제기동", "용신동", "강남동", "제기동"])
    assert [field for field, _ in errors] == ["dongs.1", "dongs.2", "dongs.3"]
    assert "용신동" in errors[0][1] and "15 administrative dongs" in errors[0][1] and "twice" in errors[2][1]
    assert in_district_order(["이문2동", "용두동", "제기동"]) == ["용두동", "제기동", "이문2동"]


def test_uncovered_dongs_count_only_active_planners():
    assert uncovered([ALL]) == []
    assert uncovered([with_changes(ALL, active=False), JEGI]) == [d for d in DONGS if d not in ("제기동", "회기동")]
    assert len(uncovered([])) == 15


def test_a_change_that_leaves_a_dong_without_an_active_planner_is_named():
    roster = [ALL, JEGI]
    assert uncovered_by_change(roster, with_changes(JEGI, active=False)) == []  # ALL still covers both
    assert uncovered_by_change(roster, with_changes(ALL, territory=["제기동"])) == [d for d in DONGS if d not in ("제기동", "회기동")]
    assert uncovered_by_change(roster, with_changes(ALL, territory=[d for d in DONGS if d != "회기동"])) == []
    alone = [planner("planner-01", *[d for d in DONGS if d != "이문1동"]), planner("planner-03", "이문1동")]
    assert uncovered_by_change(alone, with_changes(alone[1], active=False)) == ["이문1동"]
    assert uncovered_by_change(alone, with_changes(alone[1], daily_capacity=1)) == []  # capacity covers nothing
    # A roster already missing a dong is not the change's fault; a new planner never uncovers anything.
    partial = [planner("planner-01", "제기동")]
    assert uncovered_by_change(partial, with_changes(partial[0], daily_capacity=2)) == []
    assert uncovered_by_change(partial, planner("planner-09", "이문1동")) == []


def test_a_new_planner_with_room_takes_the_next_visit_once_the_others_are_full():
    roster = [planner("planner-01", "제기동", capacity=1), planner("planner-02", "제기동", capacity=1)]
    booked = {("planner-01", MON): 1, ("planner-02", MON): 1}
    assert assign("제기동", MON, roster, booked).scheduled_for > MON  # nobody has room on Monday
    newcomer = planner("planner-09", "제기동", capacity=3)
    assert assign("제기동", MON, [*roster, newcomer], booked).planner_id == "planner-09"
    assert assign("제기동", MON, [*roster, with_changes(newcomer, active=False)], booked).planner_id != "planner-09"
