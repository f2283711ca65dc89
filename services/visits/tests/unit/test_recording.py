"""Which needs call for a visit, and what a visit record must satisfy."""

from datetime import date

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.visits import FollowUp, VisitOutcome
from visits.config import VisitPolicy
from visits.domain.planning import Planner
from visits.domain.recording import DEFAULT_VISIT_NEEDS, RecordCheck, calls_for_visit, free_texts, record_errors, unique

TODAY = date(2025, 5, 14)
JEGI = Planner("planner-02", frozenset({"제기동", "청량리동"}), 6)


def check(**changes) -> RecordCheck:
    base = dict(
        visited_on=date(2025, 5, 12), today=TODAY, planner_id=JEGI.id, planner=JEGI, dong="제기동",
        outcome=VisitOutcome.met, services_given=[], follow_ups=[], override_reason=None, texts={},
    )
    return RecordCheck(**{**base, **changes})


def test_which_needs_call_for_a_visit():
    assert DEFAULT_VISIT_NEEDS == {Need.consulting, Need.closure_support, Need.restart_support}
    assert calls_for_visit([Need.loan, Need.consulting])
    assert calls_for_visit([Need.closure_support]) and calls_for_visit([Need.restart_support])
    for need in (Need.loan, Need.insurance, Need.education, Need.guarantee):
        assert not calls_for_visit([need])
    assert not calls_for_visit([Need.consulting], frozenset({Need.loan}))


def test_the_policy_is_configuration(monkeypatch):
    assert VisitPolicy().visit_needs == DEFAULT_VISIT_NEEDS
    monkeypatch.setenv("VISITS_NEEDS_CALLING_FOR_VISIT", '["loan"]')
    assert VisitPolicy().visit_needs == {Need.loan}


def test_a_good_record_passes():
    assert record_errors(check()) == []
    assert record_errors(check(visited_on=TODAY)) == []


def test_a_visit_in_the_future_is_refused():
    assert [f for f, _ in record_errors(check(visited_on=date(2025, 5, 15)))] == ["visited_on"]


def test_an_unknown_planner_is_refused():
    assert [f for f, _ in record_errors(check(planner_id="planner-99", planner=None))] == ["planner_id"]


def test_outside_the_territory_needs_an_override_reason():
    assert [f for f, _ in record_errors(check(dong="이문1동"))] == ["override_reason"]
    assert [f for f, _ in record_errors(check(dong="이문1동", override_reason="  "))] == ["override_reason"]
    assert record_errors(check(dong="이문1동", override_reason="담당 플래너 휴가")) == []


def test_services_given_only_when_the_owner_was_met():
    assert [f for f, _ in record_errors(check(outcome=VisitOutcome.owner_absent, services_given=["안내문 전달"]))] == ["services_given"]
    assert record_errors(check(outcome=VisitOutcome.shop_closed)) == []


def test_follow_ups_are_not_due_before_the_visit():
    follow_ups = [FollowUp(action="서류 확인", due_on=date(2025, 5, 19)), FollowUp(action="재방문", due_on=date(2025, 5, 1))]
    assert [f for f, _ in record_errors(check(follow_ups=follow_ups))] == ["follow_ups.1.due_on"]


def test_resident_numbers_are_refused_in_every_free_text_field():
    follow_ups = [FollowUp(action="사장 800101-1234567 연락", due_on=date(2025, 5, 19))]
    texts = free_texts(notes="주민번호 9001011234567 받음", override_reason=None, services_given=["안내", "850315 2345678"], follow_ups=follow_ups)
    fields = [f for f, _ in record_errors(check(texts=texts, follow_ups=follow_ups, services_given=["안내", "850315 2345678"]))]
    assert fields == ["notes", "services_given.1", "follow_ups.0.action"]
    assert record_errors(check(texts=free_texts(notes="사업자번호 220-81-62517", override_reason=None, services_given=[], follow_ups=[]))) == []


def test_several_faults_are_all_named():
    fields = {f for f, _ in record_errors(check(visited_on=date(2026, 1, 1), dong="이문1동"))}
    assert fields == {"visited_on", "override_reason"}


def test_needs_are_kept_once_in_order():
    assert unique([Need.loan, Need.consulting, Need.loan]) == [Need.loan, Need.consulting]
