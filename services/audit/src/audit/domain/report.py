"""The center's report for a period, computed from the ledger's events alone.

Each activity is dated by its own business date, not by when the event was published:
a visit by `visited_on`, an application by `submitted_on`, a referral by `referred_on` (the
business date of the visit or request that caused it; `sent_at`, the wall-clock moment it
was published, only for an event that lacks it): audit.domain.business_date, the rule
`export --period` selects by too. Dating referrals by `sent_at` put every referral of a
back-dated half-year (the demo's H1 2025, recorded later) outside its period.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from audit.domain.business_date import DATE_FIELDS, business_date
from audit.domain.district_rules import DistrictTally
from audit.domain.events import LedgerEvent
from audit.domain.loan_book import LoanBook
from audit.domain.period import Period

LOAN_STATUS_BY_EVENT = {
    "LoanSubmitted": "submitted",
    "LoanScreened": "screened",
    "GuaranteeRequested": "awaiting_guarantee",
    "LoanApproved": "approved",
    "LoanRejected": "rejected",
    "LoanDisbursed": "disbursed",
    "LoanWithdrawn": "withdrawn",
}


def _nested() -> defaultdict:
    return defaultdict(Counter)


def build_report(period: Period, events: Iterable[LedgerEvent]) -> dict[str, Any]:
    """`events` in ledger order; the report counts what falls in `period`."""
    visits_by_dong: Counter = Counter()
    visits_by_stage: Counter = Counter()
    visits_by_dong_stage: defaultdict = _nested()
    shops: set[str] = set()
    visits = 0
    applications: dict[str, dict[str, Any]] = {}
    loan_status: dict[str, str] = {}
    referrals: dict[str, dict[str, Any]] = {}
    referral_outcome: dict[str, str] = {}
    monthly: defaultdict = _nested()
    districts = DistrictTally()
    book = LoanBook()

    for event in events:
        data = event.data
        districts.feed(event, period)
        book.feed(event, period)
        counted = event.name in DATE_FIELDS
        day = business_date(event) if counted else None
        if event.name == "VisitRecorded" and day in period:
            visits += 1
            shops.add(str(data["business_id"]))
            stage = data.get("stage_observed") or "not_observed"
            visits_by_dong[data.get("dong", "unknown")] += 1
            visits_by_stage[stage] += 1
            visits_by_dong_stage[data.get("dong", "unknown")][stage] += 1
            monthly[day.strftime("%Y-%m")]["visits"] += 1
        elif event.name == "LoanSubmitted" and day in period:
            applications[str(data["application_id"])] = {"program": data["program"], "amount_krw": int(data["amount_krw"])}
            monthly[day.strftime("%Y-%m")]["loan_applications"] += 1
        elif event.name == "ReferralSent" and day in period:
            referrals[str(data["referral_id"])] = {"agency": data["agency"]}
            monthly[day.strftime("%Y-%m")]["referrals"] += 1
        if event.name in LOAN_STATUS_BY_EVENT and "application_id" in data:
            status = LOAN_STATUS_BY_EVENT[event.name]
            if event.name == "LoanScreened" and not data.get("eligible", True):
                status = "screened_ineligible"
            loan_status[str(data["application_id"])] = status
        if event.name == "ReferralAcknowledged":
            referral_outcome.setdefault(str(data["referral_id"]), "acknowledged")
        if event.name == "ReferralCompleted":
            referral_outcome[str(data["referral_id"])] = data["outcome"]

    by_program: dict[str, dict[str, Any]] = {}
    for application_id, application in applications.items():
        program = by_program.setdefault(application["program"], {"applications": 0, "amount_krw": 0, "by_status": Counter()})
        program["applications"] += 1
        program["amount_krw"] += application["amount_krw"]
        program["by_status"][loan_status.get(application_id, "submitted")] += 1

    by_agency: dict[str, dict[str, Any]] = {}
    for referral_id, referral in referrals.items():
        agency = by_agency.setdefault(referral["agency"], {"sent": 0, "by_outcome": Counter()})
        agency["sent"] += 1
        agency["by_outcome"][referral_outcome.get(referral_id, "pending")] += 1

    return {
        "period": period.name,
        "from": period.start.isoformat(),
        "until": period.end.isoformat(),
        "visits": {
            "recorded": visits,
            "distinct_shops": len(shops),
            "by_dong": dict(sorted(visits_by_dong.items())),
            "by_stage": dict(sorted(visits_by_stage.items())),
            "by_dong_and_stage": {d: dict(sorted(s.items())) for d, s in sorted(visits_by_dong_stage.items())},
        },
        "loans": {
            "applications": len(applications),
            "amount_krw": sum(a["amount_krw"] for a in applications.values()),
            "by_program": {
                name: {**p, "by_status": dict(sorted(p["by_status"].items()))} for name, p in sorted(by_program.items())
            },
            "book": book.section(period),
        },
        "referrals": {
            "sent": len(referrals),
            "by_agency": {
                name: {**a, "by_outcome": dict(sorted(a["by_outcome"].items()))} for name, a in sorted(by_agency.items())
            },
        },
        "districts": districts.section(period),
        "monthly": [
            {
                "month": month,
                "visits": monthly[month]["visits"],
                "loan_applications": monthly[month]["loan_applications"],
                "referrals": monthly[month]["referrals"],
            }
            for month in period.months()
        ],
    }
