"""The rules about people, checked over the log by each event's actor (ce_actor)."""

from datetime import UTC, datetime, timedelta

from audit.domain.events import LedgerEvent
from audit.domain.rules import check_rules

T0 = datetime(2025, 5, 1, 9, tzinfo=UTC)


class Log:
    def __init__(self):
        self.events: list[LedgerEvent] = []

    def add(self, name: str, producer: str = "loans", actor: str | None = None, **data) -> LedgerEvent:
        n = len(self.events) + 1
        event = LedgerEvent(n, f"e{n}", f"sangsaeng.{producer}.{name}.v1", "b", T0 + timedelta(minutes=n), data, actor)
        self.events.append(event)
        return event


def _people(log: Log) -> list[tuple[str, str, tuple[str, ...]]]:
    kinds = {"segregation_of_duties", "own_visits_only", "own_agency_referrals_only"}
    return [(f.rule, f.event_id, f.related) for f in check_rules(log.events) if f.rule in kinds]


APP = {"application_id": "a1", "business_id": "b", "program": "sme_development_fund"}


def test_the_submitter_deciding_or_disbursing_is_a_finding_naming_the_submission():
    log = Log()
    submitted = log.add("LoanSubmitted", actor="L-3001", amount_krw=30_000_000, **APP)
    log.add("LoanScreened", actor="L-3001", eligible=True, **APP)
    approved = log.add("LoanApproved", actor="L-3001", amount_krw=30_000_000, **APP)
    disbursed = log.add("LoanDisbursed", actor="L-3001", amount_krw=30_000_000, **APP)
    assert _people(log) == [("segregation_of_duties", approved.event_id, (submitted.event_id,)),
                            ("segregation_of_duties", disbursed.event_id, (submitted.event_id,))]


def test_the_drafter_deciding_is_a_finding_though_another_submitted():
    log = Log()
    drafted = log.add("LoanDraftCreated", actor="P-2002", visit_id="v1", **APP)
    log.add("LoanSubmitted", actor="S-1001", amount_krw=30_000_000, **APP)
    rejected = log.add("LoanRejected", actor="P-2002", reason_codes=["officer_decision"], **APP)
    assert _people(log) == [("segregation_of_duties", rejected.event_id, (drafted.event_id,))]


def test_rejections_that_follow_their_cause_and_other_people_are_no_finding():
    log = Log()
    log.add("LoanSubmitted", actor="L-3001", amount_krw=30_000_000, **APP)
    log.add("LoanRejected", actor="L-3001", reason_codes=["amount_within_limit"], **APP)  # screening: the submission's actor
    log.add("LoanApproved", actor="L-3002", amount_krw=30_000_000, **APP)
    log.add("LoanDisbursed", actor="L-3002", amount_krw=30_000_000, **APP)
    log.add("LoanApproved", amount_krw=30_000_000, **{**APP, "application_id": "old"})  # recorded before events had actors
    assert _people(log) == []


def test_a_visit_recorded_as_visited_by_another_planner_than_its_assigned_one():
    log = Log()
    scheduled = log.add("VisitScheduled", "visits", actor="S-1001", visit_id="v1", planner_id="planner-08")
    log.add("VisitScheduled", "visits", actor="S-1001", visit_id="v2", planner_id="planner-08")
    log.add("VisitScheduled", "visits", actor="S-1001", visit_id="v2", planner_id="planner-02", reassigned_from="planner-08")
    forged = log.add("VisitRecorded", "visits", actor="P-2002", visit_id="v1", planner_id="planner-02")
    log.add("VisitRecorded", "visits", actor="P-2002", visit_id="v2", planner_id="planner-02")  # reassigned first: fine
    assert _people(log) == [("own_visits_only", forged.event_id, (scheduled.event_id,))]


def test_an_agency_answering_another_agencys_referral():
    log = Log()
    sent = log.add("ReferralSent", "referrals", actor="P-2002", referral_id="r1", agency="SEMAS")
    log.add("ReferralAcknowledged", "referrals", actor="G-SEMAS", referral_id="r1", agency="SEMAS")
    other = log.add("ReferralCompleted", "referrals", actor="G-KBIZ", referral_id="r1", agency="KBIZ", outcome="accepted")
    assert _people(log) == [("own_agency_referrals_only", other.event_id, (sent.event_id,))]
