from datetime import UTC, datetime, timedelta

from audit.domain.application import application_state
from audit.domain.events import LedgerEvent

T0 = datetime(2025, 5, 1, 9, tzinfo=UTC)
APP, OTHER = "a1", "a2"


def log(*entries: tuple[str, dict]) -> list[LedgerEvent]:
    """Events one minute apart, in ledger order; ('referrals:Name', data) for another producer."""
    events = []
    for n, (name, data) in enumerate(entries, start=1):
        producer, _, name = name.rpartition(":")
        events.append(LedgerEvent(n, f"e{n}", f"sangsaeng.{producer or 'loans'}.{name}.v1", "b1", T0 + timedelta(minutes=n),
                                  {"business_id": "b1", **data}))
    return events


BANK = log(
    ("LoanSubmitted", {"application_id": APP, "program": "bank_cooperation", "amount_krw": 30_000_000, "purpose": "operating",
                       "submitted_on": "2025-05-01"}),
    ("LoanSubmitted", {"application_id": OTHER, "program": "sme_development_fund", "amount_krw": 5_000_000, "submitted_on": "2025-05-01"}),
    ("LoanScreened", {"application_id": APP, "eligible": True, "failed_rules": [], "screened_on": "2025-05-01"}),
    ("GuaranteeRequested", {"application_id": APP, "amount_krw": 30_000_000, "agency": "SEOUL_CREDIT_GUARANTEE", "requested_on": "2025-05-01"}),
    ("referrals:ReferralCompleted", {"application_id": APP, "referral_id": "r1", "outcome": "guarantee_issued", "completed_on": "2025-05-09"}),
    ("LoanApproved", {"application_id": APP, "amount_krw": 25_000_000, "approved_on": "2025-05-12"}),
    ("LoanDisbursed", {"application_id": APP, "amount_krw": 25_000_000, "disbursed_on": "2025-05-20", "annual_rate_pct": 2.5,
                       "grace_months": 12, "instalments": 48, "first_instalment_on": "2026-06-20"}),
)


def at_minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def test_an_application_at_each_moment_of_its_life():
    statuses = [application_state(APP, BANK, at_minute(n)) for n in range(0, 8)]
    assert statuses[0] is None  # not submitted yet
    assert [s["status"] for s in statuses[1:]] == [
        "submitted", "submitted", "awaiting_decision", "awaiting_guarantee", "awaiting_decision", "approved", "disbursed"]


def test_the_state_at_t_shows_what_was_known_then_and_nothing_later():
    before_decision = application_state(APP, BANK, at_minute(5))
    assert before_decision["program"] == "bank_cooperation" and before_decision["amount_krw"] == 30_000_000
    assert before_decision["guarantee"] == {"agency": "SEOUL_CREDIT_GUARANTEE", "amount_krw": 30_000_000, "requested_on": "2025-05-01",
                                            "outcome": "guarantee_issued", "completed_on": "2025-05-09"}
    assert "decision" not in before_decision and "disbursement" not in before_decision
    assert [h["event_id"] for h in before_decision["history"]] == ["e1", "e3", "e4", "e5"]  # only its own events
    assert before_decision["as_of"] == at_minute(5).isoformat()

    final = application_state(APP, BANK, at_minute(60))
    assert final["decision"] == {"outcome": "approved", "amount_krw": 25_000_000, "approved_on": "2025-05-12"}
    assert final["disbursement"]["instalments"] == 48
    assert application_state(OTHER, BANK, at_minute(60))["status"] == "submitted"


def test_ineligible_declined_overdue_and_withdrawn_paths():
    ineligible = log(
        ("LoanSubmitted", {"application_id": APP, "program": "sme_development_fund", "amount_krw": 1, "submitted_on": "2025-05-01"}),
        ("LoanScreened", {"application_id": APP, "eligible": False, "failed_rules": [{"rule": "excluded_industry", "detail": "x"}]}),
        ("LoanRejected", {"application_id": APP, "reason_codes": ["excluded_industry"], "rejected_on": "2025-05-02"}),
    )
    state = application_state(APP, ineligible, at_minute(9))
    assert state["status"] == "rejected" and state["screening"]["failed_rules"][0]["rule"] == "excluded_industry"
    assert state["decision"] == {"outcome": "rejected", "reason_codes": ["excluded_industry"], "rejected_on": "2025-05-02"}

    overdue = log(
        ("LoanSubmitted", {"application_id": APP, "program": "bank_cooperation", "amount_krw": 1}),
        ("LoanScreened", {"application_id": APP, "eligible": True}),
        ("GuaranteeRequested", {"application_id": APP, "requested_on": "2025-05-01"}),
        ("GuaranteeTimedOut", {"application_id": APP, "timed_out_on": "2025-06-01"}),
        ("referrals:ReferralCompleted", {"application_id": APP, "outcome": "guarantee_declined", "completed_on": "2025-06-03"}),
        ("referrals:ReferralCompleted", {"application_id": APP, "outcome": "accepted"}),  # not a guarantee outcome
    )
    assert application_state(APP, overdue, at_minute(4))["status"] == "guarantee_overdue"
    declined = application_state(APP, overdue, at_minute(9))
    assert declined["status"] == "rejected" and declined["guarantee"]["outcome"] == "guarantee_declined"
    assert len(declined["history"]) == 6  # the unrelated outcome is listed and changes nothing

    withdrawn = log(
        ("LoanDraftCreated", {"application_id": APP, "visit_id": "v1", "created_on": "2025-05-01"}),
        ("LoanWithdrawn", {"application_id": APP, "reason_code": "funded_elsewhere", "withdrawn_on": "2025-05-03"}),
    )
    assert application_state(APP, withdrawn, at_minute(1))["status"] == "draft"
    assert application_state(APP, withdrawn, at_minute(2))["withdrawal"] == {"reason_code": "funded_elsewhere", "withdrawn_on": "2025-05-03"}


def test_a_guarantee_outcome_recorded_after_the_decision_it_caused_does_not_undo_it():
    # Outcome (referrals' topic) and approval (loans') reach the ledger in either order.
    late = log(
        ("LoanSubmitted", {"application_id": APP, "program": "bank_cooperation", "amount_krw": 1}),
        ("LoanScreened", {"application_id": APP, "eligible": True}),
        ("GuaranteeRequested", {"application_id": APP}),
        ("LoanApproved", {"application_id": APP, "amount_krw": 1, "approved_on": "2025-05-12"}),
        ("referrals:ReferralCompleted", {"application_id": APP, "outcome": "guarantee_issued", "completed_on": "2025-05-09"}),
    )
    state = application_state(APP, late, at_minute(9))
    assert state["status"] == "approved" and state["guarantee"]["outcome"] == "guarantee_issued"


def test_a_guarantee_outcome_recorded_before_its_request_is_kept():
    early = log(
        ("LoanSubmitted", {"application_id": APP, "program": "bank_cooperation", "amount_krw": 1}),
        ("LoanScreened", {"application_id": APP, "eligible": True}),
        ("referrals:ReferralCompleted", {"application_id": APP, "outcome": "guarantee_issued", "completed_on": "2025-05-09"}),
        ("GuaranteeRequested", {"application_id": APP, "agency": "SEOUL_CREDIT_GUARANTEE", "requested_on": "2025-05-02"}),
    )
    state = application_state(APP, early, at_minute(9))
    assert state["status"] == "awaiting_decision"
    assert state["guarantee"]["outcome"] == "guarantee_issued" and state["guarantee"]["requested_on"] == "2025-05-02"
