"""The districts' rule over the log (no designation below the rule) and the report's districts section."""

from datetime import UTC, datetime, timedelta

from audit.domain.events import LedgerEvent
from audit.domain.period import parse_period
from audit.domain.report import build_report
from audit.domain.rules import check_rules

T0 = datetime(2025, 5, 1, 9, tzinfo=UTC)


class Log:
    def __init__(self):
        self.events: list[LedgerEvent] = []

    def add(self, event_name: str, producer: str = "districts", **data) -> LedgerEvent:
        n = len(self.events) + 1
        event = LedgerEvent(n, f"e{n}", f"sangsaeng.{producer}.{event_name}.v1", str(data.get("district_id", data.get("business_id"))),
                            T0 + timedelta(minutes=n), data)
        self.events.append(event)
        return event


def _district(log: Log, stores: int, *, outside: int = 0, closed: int = 0, left: int = 0) -> None:
    log.add("DistrictProposed", district_id="d1", name="약령골목", dongs=["제기동"], counted_area_m2=2000, proposed_on="2025-03-01")
    for i in range(stores + outside):
        log.add("BusinessRegistered", "intake", business_id=f"b{i}", stage="operating")
        log.add("StoreJoinedDistrict", district_id="d1", business_id=f"b{i}", inside_boundary=i < stores, onnuri_merchant=i % 2 == 0,
                joined_on="2025-03-02")
    for i in range(closed):
        log.add("BusinessStageChanged", "intake", business_id=f"b{i}", from_stage="operating", to_stage="closing", changed_on="2025-03-03")
    for i in range(closed, closed + left):
        log.add("StoreLeftDistrict", district_id="d1", business_id=f"b{i}", reason="이전", left_on="2025-03-03")


def _designate(log: Log, counted: int, required: int = 15, area: float = 2000) -> LedgerEvent:
    return log.add("DistrictDesignated", district_id="d1", rule="dongdaemun_ordinance", stores_required_per_area=15, per_area_m2=2000,
                   counted_area_m2=area, counted_stores=counted, required_stores=required, counted_business_ids=[], designated_on="2025-04-01")


def test_a_designation_meeting_the_rule_by_the_log_has_no_finding():
    log = Log()
    _district(log, 15, outside=3)
    _designate(log, 15)
    assert check_rules(log.events) == []


def test_a_designation_below_the_rule_by_the_log_is_found():
    for kind in ("closed", "left"):
        log = Log()
        _district(log, 16, outside=2, **{kind: 2})  # 14 operating stores inside, though the event claims 16
        event = _designate(log, 16)
        findings = check_rules(log.events)
        assert [(f.rule, f.event_id) for f in findings] == [("district_designated_below_rule", event.event_id)]
        assert "14 operating member stores" in findings[0].detail and "needs 15" in findings[0].detail


def test_a_misapplied_rule_is_found():
    log = Log()
    _district(log, 23)
    event = _designate(log, 23, required=15, area=3000)  # 3,000 m² needs 23, not 15
    assert [(f.rule, f.event_id) for f in check_rules(log.events)] == [("district_rule_misapplied", event.event_id)]
    log = Log()
    _district(log, 20)
    _designate(log, 20, required=15, area=3000)
    assert sorted(f.rule for f in check_rules(log.events)) == ["district_designated_below_rule", "district_rule_misapplied"]


def test_the_report_has_a_districts_section():
    log = Log()
    _district(log, 16, outside=1, left=1)
    _designate(log, 15)
    log.add("ContestEntered", district_id="d1", entry_id="x1", contest_id="c1", organiser="서울특별시", title="공모", entered_on="2025-05-02")
    log.add("ContestEntered", district_id="d1", entry_id="x2", contest_id="c2", organiser="SEMAS", title="공모", entered_on="2025-07-02")
    log.add("ContestResultAnnounced", district_id="d1", entry_id="x1", contest_id="c1", selected=True, awarded_krw=70_000_000, announced_on="2025-06-01")
    log.add("DistrictProposed", district_id="d2", name="회기 골목", dongs=["회기동"], counted_area_m2=2000, proposed_on="2025-03-01")
    log.add("DistrictDesignated", district_id="d2", rule="dongdaemun_ordinance", stores_required_per_area=15, per_area_m2=2000,
            counted_area_m2=2000, counted_stores=15, required_stores=15, counted_business_ids=[], designated_on="2025-08-01")
    section = build_report(parse_period("2025H1"), log.events)["districts"]
    assert (section["designated"], section["designated_in_period"], section["member_stores"]) == (1, 1, 16)
    assert section["districts"] == [{"district_id": "d1", "name": "약령골목", "designated_on": "2025-04-01", "member_stores": 16,
                                     "onnuri_merchants": 8}]
    assert (section["contest_entries"], section["contest_awards"], section["awarded_krw"]) == (1, 1, 70_000_000)
    assert section["contest_entries_by_organiser"] == {"서울특별시": 1}
    later = build_report(parse_period("2025"), log.events + [log.add("DistrictRevoked", district_id="d1", reasons=["x"], counted_stores=3,
                                                                     revoked_on="2025-09-01")])["districts"]
    assert (later["designated"], later["contest_entries"]) == (1, 2) and later["districts"][0]["name"] == "회기 골목"
