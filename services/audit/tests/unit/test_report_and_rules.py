from datetime import UTC, datetime, timedelta

from audit.domain.events import LedgerEvent
from audit.domain.period import parse_period
from audit.domain.report import build_report
from audit.domain.rules import check_rules

T0 = datetime(2025, 5, 1, 9, tzinfo=UTC)


class Log:
    def __init__(self):
        self.events: list[LedgerEvent] = []

    def add(self, name: str, producer: str = "loans", **data) -> LedgerEvent:
        n = len(self.events) + 1
        event = LedgerEvent(n, f"e{n}", f"sangsaeng.{producer}.{name}.v1", str(data.get("business_id", "b")), T0 + timedelta(minutes=n), data)
        self.events.append(event)
        return event


def test_report_counts_by_business_date_and_latest_status():
    log = Log()
    for i, dong in enumerate(["제기동", "제기동", "회기동"]):
        log.add("VisitRecorded", "visits", business_id=f"b{i % 2}", visit_id=f"v{i}", dong=dong, visited_on="2025-03-02", stage_observed="closing", outcome="met")
    log.add("VisitRecorded", "visits", business_id="b9", visit_id="late", dong="제기동", visited_on="2025-07-01", outcome="met")
    log.add("LoanSubmitted", application_id="a1", business_id="b0", program="bank_cooperation", amount_krw=30_000_000, submitted_on="2025-05-02")
    log.add("LoanSubmitted", application_id="a2", business_id="b1", program="sme_development_fund", amount_krw=20_000_000, submitted_on="2025-06-30")
    log.add("LoanScreened", application_id="a2", business_id="b1", program="sme_development_fund", eligible=True)
    log.add("LoanApproved", application_id="a2", business_id="b1", program="sme_development_fund", amount_krw=20_000_000)
    log.add("ReferralSent", "referrals", referral_id="r1", business_id="b0", agency="SEMAS", sent_at="2025-03-02T10:00:00+09:00")
    log.add("ReferralCompleted", "referrals", referral_id="r1", business_id="b0", agency="SEMAS", outcome="accepted")

    report = build_report(parse_period("2025H1"), log.events)
    assert report["visits"]["recorded"] == 3 and report["visits"]["distinct_shops"] == 2
    assert report["visits"]["by_dong"] == {"제기동": 2, "회기동": 1}
    assert report["visits"]["by_dong_and_stage"]["제기동"] == {"closing": 2}
    assert report["loans"]["applications"] == 2 and report["loans"]["amount_krw"] == 50_000_000
    assert report["loans"]["by_program"]["sme_development_fund"]["by_status"] == {"approved": 1}
    assert report["loans"]["by_program"]["bank_cooperation"]["by_status"] == {"submitted": 1}
    assert report["referrals"]["by_agency"] == {"SEMAS": {"sent": 1, "by_outcome": {"accepted": 1}}}
    assert [m["visits"] for m in report["monthly"]] == [0, 0, 3, 0, 0, 0]


def test_a_referral_counts_in_the_period_of_its_cause_not_of_its_publication():
    log = Log()
    log.add("ReferralSent", "referrals", referral_id="r1", business_id="b0", agency="SEMAS", referred_on="2025-03-04",
            sent_at="2026-11-29T12:00:00+00:00")  # a half-year entered later: published long after the visit
    log.add("ReferralSent", "referrals", referral_id="r2", business_id="b1", agency="KBIZ", referred_on="2025-07-02",
            sent_at="2025-06-30T23:00:00+00:00")
    report = build_report(parse_period("2025H1"), log.events)
    assert report["referrals"]["sent"] == 1 and list(report["referrals"]["by_agency"]) == ["SEMAS"]
    assert [m["referrals"] for m in report["monthly"]] == [0, 0, 1, 0, 0, 0]


def _approved_flow(log: Log, *, program="sme_development_fund", amount=30_000_000, screened=True, guarantee=None, micro=True):
    log.add("BusinessRegistered", "intake", business_id="b", is_micro_business=micro)
    log.add("LoanSubmitted", application_id="a", business_id="b", program=program, amount_krw=amount, submitted_on="2025-05-02")
    if screened:
        log.add("LoanScreened", application_id="a", business_id="b", program=program, eligible=True)
    if guarantee is not None:
        log.add("ReferralCompleted", "referrals", referral_id="r", business_id="b", agency="SEOUL_CREDIT_GUARANTEE", outcome="guarantee_issued", amount_krw=guarantee, application_id="a")
    return log.add("LoanApproved", application_id="a", business_id="b", program=program, amount_krw=amount)


def test_a_clean_approval_has_no_findings():
    log = Log()
    _approved_flow(log)
    assert check_rules(log.events) == []
    bank = Log()
    _approved_flow(bank, program="bank_cooperation", guarantee=30_000_000)
    assert check_rules(bank.events) == []


def test_approval_rules_name_the_event():
    log = Log()
    approved = _approved_flow(log, screened=False, amount=60_000_000)
    found = {f.rule: f.event_id for f in check_rules(log.events)}
    assert found == {"approval_without_eligible_screening": approved.event_id, "approval_above_limit": approved.event_id}
    sme = Log()
    _approved_flow(sme, amount=60_000_000, micro=False)  # an SME may borrow up to 100M
    assert check_rules(sme.events) == []


def test_bank_cooperation_needs_a_guarantee_covering_the_amount():
    log = Log()
    _approved_flow(log, program="bank_cooperation")
    assert [f.rule for f in check_rules(log.events)] == ["approval_without_guarantee"]
    log = Log()
    _approved_flow(log, program="bank_cooperation", guarantee=20_000_000)
    assert [f.rule for f in check_rules(log.events)] == ["approval_above_guarantee"]


def test_personal_data_needs_a_covering_consent_and_no_erasure():
    log = Log()
    log.add("ConsentGiven", "intake", consent_id="c", business_id="b", agencies=["SEMAS"])
    log.add("ReferralSent", "referrals", referral_id="r1", business_id="b", agency="SEMAS", personal_data_shared=True)
    bad_agency = log.add("ReferralSent", "referrals", referral_id="r2", business_id="b", agency="KBIZ", personal_data_shared=True)
    log.add("ConsentWithdrawn", "intake", consent_id="c", business_id="b", agencies=["SEMAS"])
    withdrawn = log.add("ReferralSent", "referrals", referral_id="r3", business_id="b", agency="SEMAS", personal_data_shared=True)
    log.add("ReferralSent", "referrals", referral_id="r4", business_id="b", agency="SEMAS", personal_data_shared=False)
    log.add("BusinessErased", "intake", business_id="b")
    erased = log.add("ReferralSent", "referrals", referral_id="r5", business_id="b", agency="SEMAS", personal_data_shared=True)
    found = [(f.rule, f.event_id) for f in check_rules(log.events)]
    assert found == [
        ("personal_data_without_consent", bad_agency.event_id),
        ("personal_data_without_consent", withdrawn.event_id),
        ("personal_data_after_erasure", erased.event_id),
        ("personal_data_without_consent", erased.event_id),
    ]


def test_the_limit_follows_a_change_of_details_that_moved_the_micro_business_flag():
    grew = Log()
    grew.add("BusinessRegistered", "intake", business_id="b", is_micro_business=True)
    grew.add("BusinessDetailsChanged", "intake", business_id="b", changed=["employees"], employees=12, is_micro_business=False)
    grew.add("BusinessDetailsChanged", "intake", business_id="b", changed=["address"])  # the flag did not move
    grew.add("LoanSubmitted", application_id="a", business_id="b", program="sme_development_fund", amount_krw=60_000_000, submitted_on="2025-05-02")
    grew.add("LoanScreened", application_id="a", business_id="b", program="sme_development_fund", eligible=True)
    grew.add("LoanApproved", application_id="a", business_id="b", program="sme_development_fund", amount_krw=60_000_000)
    assert check_rules(grew.events) == []  # an SME now: 60M is within its 100M
    shrank = Log()
    shrank.add("BusinessRegistered", "intake", business_id="b", is_micro_business=False)
    shrank.add("BusinessDetailsChanged", "intake", business_id="b", changed=["employees"], employees=2, is_micro_business=True)
    shrank.add("LoanSubmitted", application_id="a", business_id="b", program="sme_development_fund", amount_krw=60_000_000, submitted_on="2025-05-02")
    shrank.add("LoanScreened", application_id="a", business_id="b", program="sme_development_fund", eligible=True)
    approved = shrank.add("LoanApproved", application_id="a", business_id="b", program="sme_development_fund", amount_krw=60_000_000)
    assert [(f.rule, f.event_id) for f in check_rules(shrank.events)] == [("approval_above_limit", approved.event_id)]
