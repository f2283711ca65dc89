"""Eligibility of an application: pure rules over loans' own copy of the business's facts
and the program's terms (data from the `programs` tables, never constants here).

`screen` checks every rule and names every one that fails, so staff can tell an owner
everything to fix at once. The round's budget is not a rule here: it is reserved
atomically in the database after these rules pass (see loans/budget.py), and a
refusal is reported with the rule name `ROUND_BUDGET`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sangsaeng_common.contracts.loans import FailedRule

# Rule names (stable: they travel in LoanScreened.failed_rules and the API).
BUSINESS_KNOWN = "business_known"
BUSINESS_OPERATING = "business_operating"
IN_DISTRICT = "place_of_business_in_district"
MIN_MONTHS = "min_months_since_registration"
EXCLUDED_INDUSTRY = "excluded_industry"
REPAYING_FUND_LOAN = "already_repaying_fund_loan"
AMOUNT_LIMIT = "amount_within_limit"
PURPOSE = "purpose_allowed"
TERM = "term_within_program"
DOCUMENTS = "documents_complete"
ROUND_OPEN = "round_open"
ROUND_BUDGET = "round_budget"

# Stages in which a business can borrow (a would-be founder has no registration yet;
# a closed business trades no more).
BORROWING_STAGES = frozenset({"operating", "closing", "restarting"})


@dataclass(frozen=True)
class ProgramTerms:
    code: str
    annual_rate_pct: Decimal | None  # None: the partner bank's own rate, given at disbursement
    grace_months: int
    instalments: int
    max_term_months: int | None
    limit_micro_krw: int
    limit_sme_krw: int
    min_months_since_registration: int | None  # None: not a rule of this program
    requires_district: bool
    excludes_current_fund_borrowers: bool
    uses_rounds: bool
    requires_guarantee: bool
    guarantee_agency: str | None = None
    subsidy_rate_pct: Decimal | None = None
    subsidy_months: int | None = None
    allowed_purposes: frozenset[str] = frozenset()
    required_documents: tuple[str, ...] = ()
    excluded_industries: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BusinessFacts:
    dong: str
    industry: str
    is_micro_business: bool
    stage: str
    registered_on: date | None
    erased: bool = False


@dataclass(frozen=True)
class ApplicationFacts:
    amount_krw: int
    purpose: str
    term_months: int | None
    documents: frozenset[str]
    submitted_on: date


@dataclass(frozen=True)
class RoundFacts:
    id: str
    opens_on: date
    closes_on: date | None


@dataclass(frozen=True)
class Screening:
    failed: list[FailedRule] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.failed


def full_months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (2024-11-02 → 2025-05-01 is 5, → 2025-05-02 is 6)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return months


def normalise_industry(industry: str) -> str:
    return "".join(industry.split())


def excluded_term(industry: str, excluded: frozenset[str]) -> str | None:
    """The excluded-industry term the business's industry contains, if any. Terms are stems
    (`주점`, `부동산`): an industry is excluded when it contains one, spaces ignored."""
    normal = normalise_industry(industry)
    for term in sorted(excluded):
        if normalise_industry(term) and normalise_industry(term) in normal:
            return term
    return None


def limit_for(terms: ProgramTerms, business: BusinessFacts) -> int:
    """₩50M for a micro-business (소상공인), ₩100M for an SME under the fund's 2025 terms."""
    return terms.limit_micro_krw if business.is_micro_business else terms.limit_sme_krw


def screen(
    application: ApplicationFacts,
    business: BusinessFacts | None,
    terms: ProgramTerms,
    *,
    district_dongs: frozenset[str],
    open_round: RoundFacts | None,
    repaying_fund_loan: bool,
) -> Screening:
    failed: list[FailedRule] = []

    def fail(rule: str, detail: str) -> None:
        failed.append(FailedRule(rule=rule, detail=detail))

    if business is None or business.erased:
        fail(BUSINESS_KNOWN, "loans has no facts about this business (unknown or erased)")
    else:
        if business.stage not in BORROWING_STAGES:
            fail(BUSINESS_OPERATING, f"the business is {business.stage}; it must be trading")
        if terms.requires_district and business.dong not in district_dongs:
            fail(IN_DISTRICT, f"place of business in {business.dong}, not in the district")
        if terms.min_months_since_registration is not None:
            if business.registered_on is None:
                fail(MIN_MONTHS, "the business has no registration date (not registered yet)")
            else:
                months = full_months_between(business.registered_on, application.submitted_on)
                if months < terms.min_months_since_registration:
                    fail(MIN_MONTHS, f"registered {business.registered_on.isoformat()}: {months} months before submission, "
                                     f"{terms.min_months_since_registration} needed")
        term = excluded_term(business.industry, terms.excluded_industries)
        if term is not None:
            fail(EXCLUDED_INDUSTRY, f"industry {business.industry} is excluded ({term})")
        limit = limit_for(terms, business)
        if application.amount_krw > limit:
            kind = "micro-business" if business.is_micro_business else "SME"
            fail(AMOUNT_LIMIT, f"₩{application.amount_krw:,} asked; the limit for an {kind} is ₩{limit:,}")
    if terms.excludes_current_fund_borrowers and repaying_fund_loan:
        fail(REPAYING_FUND_LOAN, "the business is already repaying a district fund loan")
    if terms.allowed_purposes and application.purpose not in terms.allowed_purposes:
        fail(PURPOSE, f"purpose {application.purpose} not financed; allowed: {', '.join(sorted(terms.allowed_purposes))}")
    if application.term_months is not None and terms.max_term_months is not None and application.term_months > terms.max_term_months:
        fail(TERM, f"term of {application.term_months} months; the program lends for at most {terms.max_term_months}")
    missing = [d for d in terms.required_documents if d not in application.documents]
    if missing:
        fail(DOCUMENTS, f"missing: {', '.join(missing)}")
    if terms.uses_rounds and open_round is None:
        fail(ROUND_OPEN, f"no fund round takes applications on {application.submitted_on.isoformat()}")
    return Screening(failed)


def budget_refused(round_id: str, amount_krw: int, remaining_krw: int | None) -> FailedRule:
    left = f"₩{remaining_krw:,} left" if remaining_krw is not None else "its budget is committed"
    return FailedRule(rule=ROUND_BUDGET, detail=f"round {round_id} cannot take ₩{amount_krw:,}: {left}")
