"""Pure rules of owners' consent, support requests, search, pagination and the timeline."""

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from intake.domain import consent, pagination, search, support, timeline
from sangsaeng_common.contracts.common import AgencyCode, Channel, Need
from sangsaeng_common.contracts.intake import BusinessErased, BusinessStageChanged, SupportRequested
from sangsaeng_common.contracts.visits import FollowUp, VisitCancelled, VisitRecorded, VisitRecordedV1, VisitScheduled

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
BUSINESS = UUID("0197a0c4-5e2b-7c3d-9a41-2f6b1d8e9c01")
VISIT = UUID("0197a0c8-5555-7abc-8def-000000000005")


# ---------------------------------------------------------------- consent


def test_agencies_are_kept_once_in_the_order_named():
    named = [AgencyCode.SEMAS, AgencyCode.KBIZ, AgencyCode.SEMAS]
    assert consent.agencies_in_order(named) == [AgencyCode.SEMAS, AgencyCode.KBIZ]


def test_a_consent_moment_needs_a_time_zone_and_may_not_lie_in_the_future():
    consent.check_moment("given_at", NOW, NOW)
    consent.check_moment("given_at", NOW + consent.CLOCK_SKEW, NOW)  # the counter PC's clock is a little ahead
    with pytest.raises(consent.ConsentRefused) as future:
        consent.check_moment("given_at", NOW + consent.CLOCK_SKEW + timedelta(seconds=1), NOW)
    assert (future.value.field, future.value.message) == ("given_at", "lies in the future")
    with pytest.raises(consent.ConsentRefused, match="time zone") as naive:
        consent.check_moment("given_at", NOW.replace(tzinfo=None), NOW)
    assert naive.value.field == "given_at"


def test_a_consent_is_withdrawn_once_and_not_before_it_was_given():
    given = NOW - timedelta(days=10)
    consent.check_withdrawal(given_at=given, withdrawn_at=None, when=given, now=NOW)
    consent.check_withdrawal(given_at=given, withdrawn_at=None, when=NOW, now=NOW)
    with pytest.raises(consent.ConsentRefused) as twice:
        consent.check_withdrawal(given_at=given, withdrawn_at=NOW - timedelta(days=1), when=NOW, now=NOW)
    assert twice.value.field == "consent" and "already withdrawn" in twice.value.message
    with pytest.raises(consent.ConsentRefused) as early:
        consent.check_withdrawal(given_at=given, withdrawn_at=None, when=given - timedelta(seconds=1), now=NOW)
    assert early.value.field == "withdrawn_at"
    with pytest.raises(consent.ConsentRefused) as future:
        consent.check_withdrawal(given_at=given, withdrawn_at=None, when=NOW + timedelta(days=1), now=NOW)
    assert future.value.field == "withdrawn_at"


# ---------------------------------------------------------------- support requests


def test_needs_are_kept_once_in_the_order_named():
    needs = support.check_request(
        needs=[Need.loan, Need.consulting, Need.loan], channel=Channel.walk_in, visit_id=None, requested_on=date(2025, 5, 2), today=date(2025, 5, 2)
    )
    assert needs == [Need.loan, Need.consulting]


@pytest.mark.parametrize(
    ("needs", "channel", "visit_id", "requested_on", "field"),
    [
        ([], Channel.phone, None, date(2025, 5, 2), "needs"),
        ([Need.loan], Channel.phone, VISIT, date(2025, 5, 2), "visit_id"),
        ([Need.loan], Channel.online, None, date(2025, 5, 3), "requested_on"),
    ],
)
def test_invalid_support_requests_name_the_field(needs, channel, visit_id, requested_on, field):
    with pytest.raises(support.SupportRequestRefused) as refused:
        support.check_request(needs=needs, channel=channel, visit_id=visit_id, requested_on=requested_on, today=date(2025, 5, 2))
    assert refused.value.field == field


def test_a_request_made_during_a_visit_may_name_the_visit():
    assert support.check_request(
        needs=[Need.closure_support], channel=Channel.visit, visit_id=VISIT, requested_on=date(2025, 5, 2), today=date(2025, 5, 2)
    ) == [Need.closure_support]


# ---------------------------------------------------------------- search and pagination


@pytest.mark.parametrize(
    ("query", "pattern"),
    [("바른 분식", "%바른분식%"), ("  Barun\tCafe ", "%baruncafe%"), ("100%", "%100\\%%"), ("a_b", "%a\\_b%"), ("c:\\", "%c:\\\\%"), ("   ", None)],
)
def test_name_queries_ignore_spaces_and_case_and_escape_like_wildcards(query, pattern):
    assert search.name_pattern(query) == pattern


def test_name_key_matches_what_the_query_is_compared_with():
    assert search.name_key("동대문 바른분식") == "동대문바른분식"
    assert search.name_pattern("문 바른")[1:-1] in search.name_key("동대문 바른분식")


def test_cursors_round_trip_and_foreign_ones_are_refused():
    cursor = pagination.encode_cursor("2025-06-01T12:00:00+00:00", str(BUSINESS))
    assert "=" not in cursor
    assert pagination.decode_cursor(cursor, 2) == ["2025-06-01T12:00:00+00:00", str(BUSINESS)]
    for foreign in ["", "not a cursor!", pagination.encode_cursor("one"), "e30"]:  # e30 = "{}"
        with pytest.raises(pagination.InvalidCursor):
            pagination.decode_cursor(foreign, 2)


# ---------------------------------------------------------------- timeline


def _line(event) -> str:
    return timeline.summarize(event.ce_type(), event.model_dump(mode="json"))


def test_summaries_of_intake_and_visits_events():
    stage = BusinessStageChanged(business_id=BUSINESS, from_stage="operating", to_stage="closing", reason_code="rent_burden", changed_on=date(2025, 5, 12))
    assert _line(stage) == "단계 변경: 운영 → 폐업 준비 — 임대료 부담"
    no_reason = BusinessStageChanged(business_id=BUSINESS, from_stage="operating", to_stage="closing", changed_on=date(2025, 5, 12))
    assert _line(no_reason) == "단계 변경: 운영 → 폐업 준비"
    # an entry the timeline kept before v2 (v1 data, its text) still reads as it did
    kept = {"business_id": str(BUSINESS), "from_stage": "operating", "to_stage": "closing", "reason": "임대료 부담", "changed_on": "2025-05-12"}
    assert timeline.summarize("sangsaeng.intake.BusinessStageChanged.v1", kept) == "단계 변경: 운영 → 폐업 준비 — 임대료 부담"
    request = SupportRequested(request_id=VISIT, business_id=BUSINESS, needs=["consulting", "loan"], channel="walk_in", requested_on=date(2025, 5, 2))
    assert _line(request) == "지원 요청 (방문 접수): 컨설팅, 융자"
    assert _line(BusinessErased(business_id=BUSINESS, erased_at=NOW)) == "대표자 개인정보 삭제 (요청에 따라)"
    scheduled = VisitScheduled(visit_id=VISIT, business_id=BUSINESS, planner_id="planner-07", dong="제기동", scheduled_for=date(2025, 5, 12))
    assert _line(scheduled) == "방문 예정: 2025-05-12 (플래너 planner-07)"
    recorded = VisitRecorded(
        visit_id=VISIT, business_id=BUSINESS, planner_id="planner-07", dong="제기동", visited_on=date(2025, 5, 12),
        outcome="met", needs_identified=["loan", "insurance"],
    )
    assert _line(recorded) == "방문 기록: 2025-05-12 면담, 필요: 융자, 보험"
    assert _line(VisitCancelled(visit_id=VISIT, business_id=BUSINESS, reason_code="owner_request")) == "방문 취소 — 대표자 요청"
    # an entry kept before v2 (v1 data, its words) still reads as it did
    kept = {"visit_id": str(VISIT), "business_id": str(BUSINESS), "reason": "대표자 입원"}
    assert timeline.summarize("sangsaeng.visits.VisitCancelled.v1", kept) == "방문 취소 — 대표자 입원"


def test_summaries_of_a_member_stores_district_events():
    from uuid import uuid4

    from sangsaeng_common.contracts.districts import DistrictReviewOpened, ReviewReason, StoreJoinedDistrict, StoreLeftDistrict

    district = uuid4()
    joined = StoreJoinedDistrict(district_id=district, business_id=BUSINESS, longitude=127.04, latitude=37.58, inside_boundary=True,
                                 onnuri_merchant=True, joined_on=date(2025, 7, 1))
    assert _line(joined) == "골목형상점가 회원 점포 가입 (구역 안, 온누리상품권 가맹)"
    outside = joined.model_copy(update={"inside_boundary": False, "onnuri_merchant": False})
    assert _line(outside) == "골목형상점가 회원 점포 가입 (구역 밖)"
    assert _line(StoreLeftDistrict(district_id=district, business_id=BUSINESS, reason_code="moved_out", left_on=date(2025, 8, 1))) == "골목형상점가 회원 점포 탈퇴 — 구역 밖 이전"
    assert _line(StoreLeftDistrict(district_id=district, business_id=BUSINESS, reason_code="not_given", left_on=date(2025, 8, 1))) == "골목형상점가 회원 점포 탈퇴"
    review = DistrictReviewOpened(district_id=district, reason=ReviewReason.below_rule, rule="dongdaemun_ordinance", counted_stores=14,
                                  required_stores=15, opened_on=date(2025, 10, 10), business_id=BUSINESS)
    assert _line(review) == "골목형상점가 재심사: 영업 점포 14개 (기준 15개)"


def test_events_of_types_without_words_still_get_a_line():
    assert timeline.summarize("sangsaeng.loans.LoanSubmitted.v1", {"business_id": str(BUSINESS)}) == "LoanSubmitted (loans)"


def test_scrub_blanks_free_text_at_any_depth_and_keeps_the_facts():
    # Entries the timeline kept from v1 events (before v2 carried codes) hold words.
    recorded = VisitRecordedV1(
        visit_id=VISIT, business_id=BUSINESS, planner_id="planner-07", dong="제기동", visited_on=date(2025, 5, 12),
        outcome="met", follow_ups=[FollowUp(action="김바른 대표에게 전화", due_on=date(2025, 5, 20))],
    ).model_dump(mode="json")
    scrubbed = timeline.scrub(recorded)
    assert scrubbed["follow_ups"] == [{"action": None, "due_on": "2025-05-20"}]
    assert {k: v for k, v in scrubbed.items() if k != "follow_ups"} == {k: v for k, v in recorded.items() if k != "follow_ups"}
    stage = {"business_id": str(BUSINESS), "from_stage": "operating", "to_stage": "closing", "reason": "대표 김바른 건강 문제"}
    assert timeline.scrub(stage) == {**stage, "reason": None}
    assert timeline.summarize("sangsaeng.intake.BusinessStageChanged.v1", timeline.scrub(stage)) == "단계 변경: 운영 → 폐업 준비"
