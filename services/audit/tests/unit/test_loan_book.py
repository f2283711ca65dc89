"""The report's loan book: principal owed per program when the period closes, from LoanDisbursed and
LoanRepaymentRecorded dated by their business dates; missed instalments in the period counted per loan."""

from datetime import UTC, datetime, timedelta

from audit.domain.events import LedgerEvent
from audit.domain.period import parse_period
from audit.domain.report import build_report

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)  # recorded long after: only the business dates count


def _log(*entries: tuple[str, dict]) -> list[LedgerEvent]:
    return [LedgerEvent(n, f"e{n}", f"sangsaeng.loans.{name}.v1", str(data.get("business_id", "b")), T0 + timedelta(minutes=n), data)
            for n, (name, data) in enumerate(entries, start=1)]


def _disbursed(app: str, program: str, amount: int, on: str) -> tuple[str, dict]:
    return "LoanDisbursed", {"application_id": app, "business_id": f"b-{app}", "program": program, "amount_krw": amount, "disbursed_on": on}


def _repaid(app: str, program: str, principal: int, on: str) -> tuple[str, dict]:
    return "LoanRepaymentRecorded", {"application_id": app, "business_id": f"b-{app}", "program": program, "paid_on": on,
                                     "amount_krw": principal + 1_000, "principal_krw": principal, "interest_krw": 1_000}


def test_the_book_counts_what_was_owed_when_the_period_closed():
    events = _log(
        _disbursed("a1", "sme_development_fund", 30_000_000, "2025-02-03"),
        _disbursed("a2", "sme_development_fund", 20_000_000, "2025-06-30"),
        _disbursed("a3", "bank_cooperation", 40_000_000, "2025-07-01"),  # after H1: not in its book
        _repaid("a1", "sme_development_fund", 0, "2025-03-03"),
        _repaid("a1", "sme_development_fund", 5_000_000, "2025-06-03"),
        _repaid("a2", "sme_development_fund", 20_000_000, "2025-06-30"),  # repaid the day it was lent
        _repaid("a1", "sme_development_fund", 1_000_000, "2025-07-03"),  # after H1
        ("LoanInArrears", {"application_id": "a1", "business_id": "b-a1", "program": "sme_development_fund", "in_arrears_on": "2025-05-04",
                           "instalment": 3, "due_on": "2025-05-03", "overdue_krw": 37_500, "outstanding_principal_krw": 30_000_000,
                           "noticed_on": "2025-06-03"}),
    )
    book = build_report(parse_period("2025H1"), events)["loans"]["book"]
    assert book == {
        "until": "2025-07-01",
        "outstanding_principal_krw": 25_000_000,
        "by_program": {"sme_development_fund": {"outstanding_principal_krw": 25_000_000, "loans_outstanding": 1,
                                                "principal_repaid_krw": 25_000_000, "loans_with_missed_instalments": 1}},
    }
    later = build_report(parse_period("2025H2"), events)["loans"]["book"]
    assert later["by_program"]["sme_development_fund"] == {"outstanding_principal_krw": 24_000_000, "loans_outstanding": 1,
                                                           "principal_repaid_krw": 1_000_000, "loans_with_missed_instalments": 0}
    assert later["by_program"]["bank_cooperation"]["outstanding_principal_krw"] == 40_000_000
    assert later["outstanding_principal_krw"] == 64_000_000
