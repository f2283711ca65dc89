"""The report's loan book: principal still owed per program at the period's end, from the
ledger's events alone (LoanDisbursed and LoanRepaymentRecorded), dated by their own business
dates (`disbursed_on`, `paid_on`), as the rest of the report is. A repayment's principal part
is what LoanRepaymentRecorded says it was (loans applied it to the schedule)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from audit.domain.events import LedgerEvent


@dataclass
class LoanBook:
    lent: dict[str, tuple[str, int]] = field(default_factory=dict)  # application -> (program, principal), disbursed by the end
    repaid_by_end: defaultdict = field(default_factory=lambda: defaultdict(int))  # application -> principal repaid by the end
    repaid_in_period: defaultdict = field(default_factory=lambda: defaultdict(int))  # program -> principal repaid in the period
    missed_in_period: defaultdict = field(default_factory=lambda: defaultdict(set))  # program -> applications with a missed instalment

    def feed(self, event: LedgerEvent, period: Any) -> None:
        data, name = event.data, event.name
        if name == "LoanDisbursed" and (day := event.day("disbursed_on")) and day < period.end:
            self.lent[str(data["application_id"])] = (str(data["program"]), int(data["amount_krw"]))
        elif name == "LoanRepaymentRecorded" and (day := event.day("paid_on")) and day < period.end:
            self.repaid_by_end[str(data["application_id"])] += int(data["principal_krw"])
            if day in period:
                self.repaid_in_period[str(data["program"])] += int(data["principal_krw"])
        elif name == "LoanInArrears" and (day := event.day("in_arrears_on")) and day in period:
            self.missed_in_period[str(data["program"])].add(str(data["application_id"]))

    def section(self, period: Any) -> dict[str, Any]:
        by_program: dict[str, dict[str, int]] = {}
        for application, (program, principal) in self.lent.items():
            entry = by_program.setdefault(program, {"outstanding_principal_krw": 0, "loans_outstanding": 0})
            owed = max(principal - self.repaid_by_end.get(application, 0), 0)
            entry["outstanding_principal_krw"] += owed
            entry["loans_outstanding"] += 1 if owed else 0
        for program in {*self.repaid_in_period, *self.missed_in_period}:
            by_program.setdefault(program, {"outstanding_principal_krw": 0, "loans_outstanding": 0})
        for program, entry in by_program.items():
            entry["principal_repaid_krw"] = self.repaid_in_period.get(program, 0)
            entry["loans_with_missed_instalments"] = len(self.missed_in_period.get(program, ()))
        return {
            "until": period.end.isoformat(),  # as the report's own "until": what was owed when the period closed
            "outstanding_principal_krw": sum(e["outstanding_principal_krw"] for e in by_program.values()),
            "by_program": dict(sorted(by_program.items())),
        }
