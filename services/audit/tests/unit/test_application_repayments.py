"""An application as the ledger knew it, with its repayments: the fold keeps count of what was
repaid, what was still owed and which instalments were missed, up to the moment asked about."""

from datetime import UTC, datetime, timedelta

from audit.domain.application import application_state
from audit.domain.events import LedgerEvent

T0 = datetime(2025, 5, 1, 9, tzinfo=UTC)


def _log(*entries: tuple[str, dict]) -> list[LedgerEvent]:
    return [LedgerEvent(n, f"e{n}", f"sangsaeng.loans.{name}.v1", "b1", T0 + timedelta(minutes=n), {"business_id": "b1", "application_id": "a1", **data})
            for n, (name, data) in enumerate(entries, start=1)]


EVENTS = _log(
    ("LoanDisbursed", {"amount_krw": 30_000_000, "disbursed_on": "2025-06-02", "program": "sme_development_fund"}),
    ("LoanInArrears", {"instalment": 1, "due_on": "2025-07-02", "in_arrears_on": "2025-07-03", "overdue_krw": 37_500,
                       "outstanding_principal_krw": 30_000_000, "noticed_on": "2025-07-10"}),
    ("LoanRepaymentRecorded", {"paid_on": "2025-07-10", "amount_krw": 37_500, "principal_krw": 0, "interest_krw": 37_500,
                               "outstanding_principal_krw": 30_000_000, "overdue_krw": 0}),
    ("LoanRepaymentRecorded", {"paid_on": "2025-08-01", "amount_krw": 31_368_732 - 37_500, "principal_krw": 30_000_000,
                               "interest_krw": 1_331_232, "outstanding_principal_krw": 0, "overdue_krw": 0}),
    ("LoanRepaid", {"repaid_on": "2025-08-01", "principal_krw": 30_000_000, "repayments": 2}),
)


def test_the_fold_follows_repayments_and_missed_instalments():
    after_miss = application_state("a1", EVENTS, T0 + timedelta(minutes=2))
    assert after_miss["status"] == "disbursed"
    assert after_miss["repayment"]["missed_instalments"] == [{"instalment": 1, "due_on": "2025-07-02", "in_arrears_on": "2025-07-03", "overdue_krw": 37_500}]
    assert after_miss["repayment"]["repayments"] == 0
    current = application_state("a1", EVENTS, T0 + timedelta(minutes=3))["repayment"]
    assert (current["repayments"], current["outstanding_principal_krw"], current["overdue_krw"], current["repaid_on"]) == (1, 30_000_000, 0, None)
    done = application_state("a1", EVENTS, T0 + timedelta(minutes=5))
    assert done["status"] == "disbursed" and [h["type"].split(".")[2] for h in done["history"]][-1] == "LoanRepaid"
    assert (done["repayment"]["principal_repaid_krw"], done["repayment"]["outstanding_principal_krw"], done["repayment"]["repaid_on"],
            done["repayment"]["last_paid_on"]) == (30_000_000, 0, "2025-08-01", "2025-08-01")
