"""Eligibility rules: each one alone, and every failed rule named at once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from loans.domain import eligibility as e
from loans.domain.eligibility import ApplicationFacts, BusinessFacts, ProgramTerms, RoundFacts

DONGS = frozenset({"제기동", "용두동", "이문2동", "용신동"})
EXCLUDED = frozenset({"금융", "보험", "부동산", "숙박", "주점", "유흥", "사행"})
FUND = ProgramTerms(
    code="sme_development_fund", annual_rate_pct=Decimal("1.5"), grace_months=12, instalments=48, max_term_months=60,
    limit_micro_krw=50_000_000, limit_sme_krw=100_000_000, min_months_since_registration=6, requires_district=True,
    excludes_current_fund_borrowers=True, uses_rounds=True, requires_guarantee=False, allowed_purposes=frozenset({"operating"}),
    required_documents=("application_form", "fund_use_plan", "sme_confirmation"), excluded_industries=EXCLUDED,
)
BANK = ProgramTerms(
    code="bank_cooperation", annual_rate_pct=None, grace_months=12, instalments=48, max_term_months=60,
    limit_micro_krw=50_000_000, limit_sme_krw=100_000_000, min_months_since_registration=None, requires_district=True,
    excludes_current_fund_borrowers=False, uses_rounds=False, requires_guarantee=True, guarantee_agency="SEOUL_CREDIT_GUARANTEE",
    subsidy_rate_pct=Decimal("2.0"), subsidy_months=24, allowed_purposes=frozenset({"operating", "facility"}),
    required_documents=("application_form", "sme_confirmation"), excluded_industries=EXCLUDED,
)
ROUND = RoundFacts("2025-1", date(2025, 4, 21), date(2025, 9, 16))
SHOP = BusinessFacts(dong="제기동", industry="음식점업", is_micro_business=True, stage="operating", registered_on=date(2023, 3, 2))
ALL_DOCS = frozenset(FUND.required_documents)


def app(**changes) -> ApplicationFacts:
    base = dict(amount_krw=30_000_000, purpose="operating", term_months=60, documents=ALL_DOCS, submitted_on=date(2025, 5, 2))
    return ApplicationFacts(**{**base, **changes})


def rules(application=None, business=SHOP, terms=FUND, open_round=ROUND, repaying=False) -> list[str]:
    result = e.screen(application or app(), business, terms, district_dongs=DONGS, open_round=open_round, repaying_fund_loan=repaying)
    assert result.eligible == (not result.failed)
    return [f.rule for f in result.failed]


def shop(**changes) -> BusinessFacts:
    return BusinessFacts(**{**SHOP.__dict__, **changes})


def test_an_eligible_micro_business():
    assert rules() == []
    assert rules(terms=BANK, open_round=None) == []


def test_six_full_months_since_registration():
    assert e.full_months_between(date(2024, 11, 2), date(2025, 5, 1)) == 5
    assert e.full_months_between(date(2024, 11, 2), date(2025, 5, 2)) == 6
    assert e.full_months_between(date(2024, 8, 31), date(2025, 2, 28)) == 5
    assert rules(business=shop(registered_on=date(2024, 11, 3))) == [e.MIN_MONTHS]
    assert rules(business=shop(registered_on=date(2024, 11, 2))) == []
    assert rules(business=shop(registered_on=None)) == [e.MIN_MONTHS]
    assert rules(business=shop(registered_on=date(2025, 4, 1)), terms=BANK, open_round=None) == []  # not a bank rule


def test_limits_micro_and_sme():
    assert rules(app(amount_krw=50_000_000)) == []
    assert rules(app(amount_krw=50_000_001)) == [e.AMOUNT_LIMIT]
    assert rules(app(amount_krw=100_000_000), business=shop(is_micro_business=False)) == []
    assert rules(app(amount_krw=100_000_001), business=shop(is_micro_business=False)) == [e.AMOUNT_LIMIT]
    assert e.limit_for(FUND, SHOP) == 50_000_000


def test_district_industry_stage_and_existing_fund_loans():
    assert rules(business=shop(dong="종로1·2·3·4가동")) == [e.IN_DISTRICT]
    assert rules(business=shop(dong="용신동")) == []  # records from before July 2025
    assert rules(business=shop(industry="일반 유흥 주점업")) == [e.EXCLUDED_INDUSTRY]
    assert rules(business=shop(industry="부동산 중개업")) == [e.EXCLUDED_INDUSTRY]
    assert rules(business=shop(industry="보험대리점")) == [e.EXCLUDED_INDUSTRY]
    assert rules(business=shop(industry="한식 음식점업")) == []
    assert rules(business=shop(stage="closed")) == [e.BUSINESS_OPERATING]
    assert rules(business=shop(stage="prospective")) == [e.BUSINESS_OPERATING]
    assert rules(business=shop(stage="restarting")) == []
    assert rules(repaying=True) == [e.REPAYING_FUND_LOAN]
    assert rules(terms=BANK, open_round=None, repaying=True) == []


def test_purpose_term_documents_and_round():
    assert rules(app(purpose="facility")) == [e.PURPOSE]
    assert rules(app(purpose="facility"), terms=BANK, open_round=None) == []
    assert rules(app(term_months=72)) == [e.TERM]
    assert rules(app(term_months=None)) == []
    failed = e.screen(app(documents=frozenset({"application_form"})), SHOP, FUND, district_dongs=DONGS, open_round=ROUND, repaying_fund_loan=False)
    assert [(f.rule, f.detail) for f in failed.failed] == [(e.DOCUMENTS, "missing: fund_use_plan, sme_confirmation")]
    assert rules(open_round=None) == [e.ROUND_OPEN]
    assert rules(terms=BANK, open_round=None) == []


def test_every_failed_rule_is_named():
    business = shop(dong="강남동", industry="숙박업", stage="closing", registered_on=date(2025, 3, 1))
    application = app(amount_krw=60_000_000, purpose="facility", term_months=84, documents=frozenset(), submitted_on=date(2025, 4, 1))
    assert rules(application, business=business, open_round=None, repaying=True) == [
        e.IN_DISTRICT, e.MIN_MONTHS, e.EXCLUDED_INDUSTRY, e.AMOUNT_LIMIT, e.REPAYING_FUND_LOAN, e.PURPOSE, e.TERM, e.DOCUMENTS, e.ROUND_OPEN,
    ]


def test_unknown_or_erased_business():
    assert rules(business=None) == [e.BUSINESS_KNOWN]
    assert rules(business=shop(erased=True)) == [e.BUSINESS_KNOWN]


def test_budget_refusal_is_named():
    refused = e.budget_refused("2025-1", 30_000_000, 12_000_000)
    assert refused.rule == e.ROUND_BUDGET and refused.detail == "round 2025-1 cannot take ₩30,000,000: ₩12,000,000 left"


def test_every_eligibility_rule_is_a_rejection_code():
    """LoanRejected.v2 carries the failed rules' names as codes: each rule loans can fail is one."""
    from loans.domain import eligibility
    from sangsaeng_common.contracts.loans import RejectionReason

    rules = {v for k, v in vars(eligibility).items() if k.isupper() and isinstance(v, str) and v.islower() and "_" in v}
    assert rules >= {eligibility.MIN_MONTHS, eligibility.ROUND_BUDGET, eligibility.BUSINESS_KNOWN}
    assert rules <= set(RejectionReason), rules - set(RejectionReason)
