"""own_visits_only: a planner acts only on the visits assigned to them; staff on anyone's behalf."""

from visits.domain.authority import Caller, refusal

PLANNER_02 = Caller("planner", "planner-02")


def test_a_planner_records_their_own_visit_naming_themselves_or_nobody():
    assert refusal(PLANNER_02, "planner-02") is None
    assert refusal(PLANNER_02, "planner-02", "planner-02") is None


def test_a_planner_may_not_record_another_planners_visit():
    why = refusal(PLANNER_02, "planner-08")
    assert why is not None and "assigned to planner-08" in why and "staff reassign" in why


def test_a_planner_may_not_name_another_planner_even_on_their_own_visit():
    why = refusal(PLANNER_02, "planner-02", "planner-08")
    assert why is not None and "planner_id planner-08 is not the caller (planner-02)" in why


def test_a_planner_whose_token_names_no_planner_has_no_visits():
    assert refusal(Caller("planner"), "planner-02") is not None


def test_staff_act_on_any_planners_behalf():
    assert refusal(Caller("staff"), "planner-08") is None
    assert refusal(Caller("staff"), "planner-08", "planner-02") is None
