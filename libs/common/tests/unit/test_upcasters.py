"""Upcasters: pure functions vN -> vN+1 applied at decode time, so a handler sees only the
newest version; the compatibility check (BACKWARD_TRANSITIVE) and the refusal of a version
without an upcaster; producers publish the newest only."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from typer.testing import CliRunner

from sangsaeng_common import contracts, outbox
from sangsaeng_common.contracts import (
    REGISTRY, UPCASTERS, Event, contract, is_newest, missing_upcasters, newest, upcast, upcast_data, upcaster,
)
from sangsaeng_common.contracts import publish
from sangsaeng_common.contracts.intake import (
    BusinessStageChanged, BusinessStageChangedV1, Stage, StageChangeReason, business_stage_changed_v1_to_v2,
    stage_reason_code_of_text,
)
from sangsaeng_common.envelope import Envelope

BUSINESS = uuid.UUID("0190f5a0-0000-7000-8000-0000000000aa")


def _v1(reason: str | None) -> BusinessStageChangedV1:
    return BusinessStageChangedV1(business_id=BUSINESS, from_stage=Stage.operating, to_stage=Stage.closing, reason=reason,
                                  changed_on=date(2025, 5, 12))


# ---------------------------------------------------------------- BusinessStageChanged v1 -> v2


def test_a_v1_reason_becomes_a_code_and_its_text_is_not_copied():
    text = "대표 김철수 씨 건강 악화 (010-1234-5678)"
    v2 = business_stage_changed_v1_to_v2(_v1(text))
    assert type(v2) is BusinessStageChanged
    assert v2.reason_code is StageChangeReason.other
    assert (v2.business_id, v2.from_stage, v2.to_stage, v2.changed_on) == (BUSINESS, Stage.operating, Stage.closing, date(2025, 5, 12))
    dumped = v2.model_dump_json()
    assert "김철수" not in dumped and "010" not in dumped and "reason\"" not in dumped


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_v1_without_a_reason_becomes_not_given(reason):
    assert business_stage_changed_v1_to_v2(_v1(reason)).reason_code is StageChangeReason.not_given
    assert stage_reason_code_of_text(reason) is StageChangeReason.not_given


def test_the_upcaster_is_pure():
    event = _v1("임대료 부담")
    assert business_stage_changed_v1_to_v2(event) == business_stage_changed_v1_to_v2(event)
    assert event.reason == "임대료 부담"  # the old event is untouched


def test_newest_is_what_handlers_and_producers_use():
    assert newest("intake", "BusinessStageChanged") is BusinessStageChanged
    assert is_newest(BusinessStageChanged) and not is_newest(BusinessStageChangedV1)
    assert upcast(_v1("x")) == business_stage_changed_v1_to_v2(_v1("x"))
    v2 = business_stage_changed_v1_to_v2(_v1(None))
    assert upcast(v2) is v2  # the newest goes through unchanged


def test_decoding_a_v1_record_gives_the_v2_event_and_keeps_the_record_as_it_was():
    envelope = Envelope.wrap(_v1("임대료 부담 (김철수)"))
    assert envelope.type == "sangsaeng.intake.BusinessStageChanged.v1"
    received = Envelope.from_kafka(envelope.kafka_headers(), envelope.data)
    event = received.decode("sangsaeng.intake.events")
    assert type(event) is BusinessStageChanged and event.reason_code is StageChangeReason.other
    # the envelope still says what was published, byte for byte
    assert received.type == "sangsaeng.intake.BusinessStageChanged.v1"
    assert received.data == envelope.data and json.loads(received.data)["reason"] == "임대료 부담 (김철수)"


def test_stored_json_is_upcast_for_readers_of_the_ledger():
    data = json.loads(_v1("임대료").model_dump_json())
    ce_type, upcast_json = upcast_data("sangsaeng.intake.BusinessStageChanged.v1", data)
    assert ce_type == "sangsaeng.intake.BusinessStageChanged.v2"
    assert upcast_json["reason_code"] == "other" and "reason" not in upcast_json
    unknown = {"anything": 1}
    assert upcast_data("sangsaeng.someone.Future.v1", unknown) == ("sangsaeng.someone.Future.v1", unknown)


async def test_a_producer_cannot_publish_an_older_version():
    with pytest.raises(ValueError, match="not the newest version"):
        await outbox.add(None, _v1("x"))  # refused before touching the connection


# ---------------------------------------------------------------- the registry's rules


@pytest.fixture
def scratch_registry():
    """Contracts and upcasters registered by a test are gone after it."""
    registry, upcasters = dict(REGISTRY), dict(UPCASTERS)
    yield
    REGISTRY.clear(), REGISTRY.update(registry)
    UPCASTERS.clear(), UPCASTERS.update(upcasters)


def _declare_pair():
    @contract("testonly", "Thing", 1)
    class ThingV1(Event):
        business_id: uuid.UUID
        note: str | None = None
        size: int

    @contract("testonly", "Thing", 2)
    class Thing(Event):
        business_id: uuid.UUID
        kind: str
        size: int

    return ThingV1, Thing


def test_every_version_in_the_catalogue_has_an_upcaster_and_reads_all_earlier_ones():
    assert missing_upcasters() == []
    assert publish.backward_transitive_problems() == []
    for ce_type in UPCASTERS:
        assert not is_newest(REGISTRY[ce_type])


def test_a_version_without_an_upcaster_is_refused(scratch_registry, tmp_path):
    _declare_pair()
    assert missing_upcasters() == ["sangsaeng.testonly.Thing.v2: no upcaster from v1"]
    runner = CliRunner()
    refused = runner.invoke(publish.app, ["write", "--out", str(tmp_path)])
    assert refused.exit_code == 1 and "no upcaster from v1" in refused.output
    checked = runner.invoke(publish.app, ["check", "--out", str(tmp_path)])
    assert checked.exit_code == 1 and "BACKWARD_TRANSITIVE: sangsaeng.testonly.Thing.v2: no upcaster from v1" in checked.output


def test_a_gap_in_versions_is_refused(scratch_registry):
    @contract("testonly", "Gap", 1)
    class GapV1(Event):
        business_id: uuid.UUID

    @contract("testonly", "Gap", 3)
    class Gap(Event):
        business_id: uuid.UUID

    assert "sangsaeng.testonly.Gap: versions [1, 3] are not 1..2" in missing_upcasters()


def test_an_upcaster_that_cannot_read_some_earlier_data_is_refused(scratch_registry):
    ThingV1, Thing = _declare_pair()

    @upcaster(ThingV1, Thing)
    def careless(old):
        return Thing.model_construct(business_id=old.business_id, kind=old.note, size=old.size)  # None when v1 had no note

    problems = publish.backward_transitive_problems()
    assert problems and all(p.startswith("sangsaeng.testonly.Thing.v2: reading sangsaeng.testonly.Thing.v1 data") for p in problems)
    assert any('"note"' not in p for p in problems)  # the v1 data without a note is what fails


def test_backward_transitive_reads_every_earlier_version_through_the_chain(scratch_registry):
    ThingV1, ThingV2 = _declare_pair()

    @upcaster(ThingV1, ThingV2)
    def one_to_two(old):
        return ThingV2(business_id=old.business_id, kind="other" if old.note else "none", size=old.size)

    @contract("testonly", "Thing", 3)
    class ThingV3(Event):
        business_id: uuid.UUID
        kind: str
        size: int
        weight: int

    @upcaster(ThingV2, ThingV3)
    def two_to_three(old):
        return ThingV3(business_id=old.business_id, kind=old.kind, size=old.size, weight=old.size * 2)

    assert publish.backward_transitive_problems() == []
    assert upcast(ThingV1(business_id=BUSINESS, note="n", size=2)) == ThingV3(business_id=BUSINESS, kind="other", size=2, weight=4)


def test_an_upcaster_goes_from_one_version_to_the_next_and_returns_it(scratch_registry):
    ThingV1, Thing = _declare_pair()
    with pytest.raises(ValueError, match="one version to the next"):
        upcaster(Thing, ThingV1)
    with pytest.raises(ValueError, match="one version to the next"):
        upcaster(ThingV1, BusinessStageChanged)

    @upcaster(ThingV1, Thing)
    def wrong(old):
        return old

    with pytest.raises(TypeError, match="returned ThingV1"):
        upcast(ThingV1(business_id=BUSINESS, size=1))


def test_asyncapi_lists_every_version_and_producers_send_the_newest():
    document = publish.asyncapi()
    channel = document["channels"]["sangsaeng.intake.events"]
    assert {"BusinessStageChanged.v1", "BusinessStageChanged.v2"} <= set(channel["messages"])
    sent = [m["$ref"].rsplit("/", 1)[1] for m in document["operations"]["publish.sangsaeng.intake.events"]["messages"]]
    assert "BusinessStageChanged.v2" in sent and "BusinessStageChanged.v1" not in sent
    assert document["components"]["messages"]["sangsaeng.intake.BusinessStageChanged.v1"]["summary"].startswith("Superseded by v2")
    assert set(publish.schemas()) >= {"sangsaeng.intake.BusinessStageChanged.v1", "sangsaeng.intake.BusinessStageChanged.v2"}
    assert contracts.known_versions("intake", "BusinessStageChanged") == [1, 2]


# ---------------------------------------------------------------- the other free-text fields' v2


def test_visit_recorded_v1_keeps_the_follow_ups_dates_and_numbers_not_their_words():
    from sangsaeng_common.contracts.visits import FollowUp, FollowUpDue, VisitRecorded, VisitRecordedV1, visit_recorded_v1_to_v2

    old = VisitRecordedV1(visit_id=uuid.uuid4(), business_id=BUSINESS, planner_id="planner-07", dong="제기동", visited_on=date(2025, 5, 12),
                          outcome="met", stage_observed="closing", needs_identified=["loan"], services_given=["김철수 대표 폐업 절차 안내", "교육"],
                          follow_ups=[FollowUp(action="김철수 대표에게 전화", due_on=date(2025, 5, 19)),
                                      FollowUp(action="서류 확인", due_on=date(2025, 5, 26))])
    new = visit_recorded_v1_to_v2(old)
    assert type(new) is VisitRecorded
    assert new.follow_ups == [FollowUpDue(number=1, due_on=date(2025, 5, 19)), FollowUpDue(number=2, due_on=date(2025, 5, 26))]
    assert new.services_given_count == 2 and new.needs_identified == ["loan"] and new.stage_observed == "closing"
    assert "김철수" not in new.model_dump_json() and "서류" not in new.model_dump_json()


def test_visit_cancelled_v1_reason_becomes_a_code():
    from sangsaeng_common.contracts.visits import CancelReason, VisitCancelledV1, visit_cancelled_v1_to_v2

    visit = uuid.uuid4()
    cases = [("business erased", None, CancelReason.business_erased), ("사장님 일정 변경", uuid.uuid4(), CancelReason.rescheduled),
             ("대표자 김철수 입원", None, CancelReason.other)]
    for reason, rescheduled, code in cases:
        new = visit_cancelled_v1_to_v2(VisitCancelledV1(visit_id=visit, business_id=BUSINESS, reason=reason, rescheduled_visit_id=rescheduled))
        assert new.reason_code is code and new.rescheduled_visit_id == rescheduled
        assert "김철수" not in new.model_dump_json()


def test_loan_rejected_v1_reasons_become_rule_codes_or_the_officers_decision():
    from sangsaeng_common.contracts.loans import LoanRejectedV1, RejectionReason, loan_rejected_v1_to_v2

    old = LoanRejectedV1(application_id=uuid.uuid4(), business_id=BUSINESS, program="sme_development_fund", rejected_on=date(2025, 5, 2),
                         reasons=["min_months_since_registration: registered 2025-03-02, 2 months ago; needs 6",
                                  "excluded_industry: 주점", "guarantee_declined: 서울신용보증재단 보증 거절 (김철수 연체)",
                                  "서류 미비 — 김철수 대표 통화", "kim: 김철수", "excluded_industry: again"])
    new = loan_rejected_v1_to_v2(old)
    assert new.reason_codes == [RejectionReason.min_months_since_registration, RejectionReason.excluded_industry,
                                RejectionReason.guarantee_declined, RejectionReason.officer_decision]
    assert "김철수" not in new.model_dump_json() and "kim" not in new.model_dump_json()


def test_loan_withdrawn_and_store_left_v1_reasons_become_other_or_not_given():
    from sangsaeng_common.contracts.districts import LeaveReason, StoreLeftDistrictV1, store_left_district_v1_to_v2
    from sangsaeng_common.contracts.loans import LoanWithdrawnV1, WithdrawalReason, loan_withdrawn_v1_to_v2

    application = uuid.uuid4()
    withdrawn = loan_withdrawn_v1_to_v2(LoanWithdrawnV1(application_id=application, business_id=BUSINESS, reason="김철수 다른 자금",
                                                        withdrawn_on=date(2025, 5, 3)))
    assert withdrawn.reason_code is WithdrawalReason.other and "김철수" not in withdrawn.model_dump_json()
    assert loan_withdrawn_v1_to_v2(LoanWithdrawnV1(application_id=application, business_id=BUSINESS, reason=" ",
                                                   withdrawn_on=date(2025, 5, 3))).reason_code is WithdrawalReason.not_given
    left = store_left_district_v1_to_v2(StoreLeftDistrictV1(district_id=uuid.uuid4(), business_id=BUSINESS, reason="김철수 사장 이사",
                                                            left_on=date(2025, 8, 1)))
    assert left.reason_code is LeaveReason.other and "김철수" not in left.model_dump_json()


def test_referral_completed_v1_loses_only_its_note():
    from sangsaeng_common.contracts.referrals import ReferralCompleted, ReferralCompletedV1, referral_completed_v1_to_v2

    old = ReferralCompletedV1(referral_id=uuid.uuid4(), business_id=BUSINESS, agency="SEOUL_CREDIT_GUARANTEE", outcome="guarantee_issued",
                              amount_krw=20_000_000, application_id=uuid.uuid4(), completed_on=date(2025, 5, 9), note="김철수 담당자 확인")
    new = referral_completed_v1_to_v2(old)
    assert new == ReferralCompleted(**old.model_dump(exclude={"note"}))
    assert "김철수" not in new.model_dump_json()


def test_samples_cover_required_only_every_field_nulls_and_every_enum_value():
    found = publish.samples(publish.event_schema(BusinessStageChangedV1))
    assert {s.get("reason", "absent") for s in found} == {"absent", "x", None}
    assert {s["to_stage"] for s in found} == {stage.value for stage in Stage}
