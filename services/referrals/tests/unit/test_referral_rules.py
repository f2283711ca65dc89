"""Referral rules, the 30-day rule, the consent gate and the agency's answers: pure functions."""

from datetime import date, timedelta
from uuid import uuid4

import pytest

from sangsaeng_common.contracts.common import AgencyCode, Need
from sangsaeng_common.contracts.referrals import ReferralOutcome
from referrals.config import ReferralPolicy
from referrals.domain import agencies as a
from referrals.domain import referral as r
from referrals.domain.rules import Proposal, for_guarantee, for_visit, is_repeat


def test_every_agency_is_in_the_catalogue_with_programs():
    assert set(a.AGENCIES) == set(AgencyCode)
    assert all(agency.programs for agency in a.AGENCIES.values())
    assert a.AGENCIES[AgencyCode.SEOUL_CREDIT_GUARANTEE].consent_rule is a.ConsentRule.hold
    assert a.AGENCIES[AgencyCode.SEMAS].consent_rule is a.ConsentRule.hold
    assert a.AGENCIES[AgencyCode.DDM_CHAMBER].consent_rule is a.ConsentRule.send_without
    # Every program a rule names exists in its agency's catalogue.
    for need in Need:
        for proposal in for_visit([need]):
            assert a.AGENCIES[proposal.agency].program(proposal.program) is not None


def test_closure_need_refers_to_semas_hope_return_package():
    assert for_visit([Need.closure_support]) == [Proposal(AgencyCode.SEMAS, a.HOPE_RETURN_PACKAGE, "visit:closure_support")]


def test_restart_need_refers_to_semas_restart_support():
    assert for_visit([Need.restart_support]) == [Proposal(AgencyCode.SEMAS, a.RESTART_SUPPORT, "visit:restart_support")]


def test_insurance_need_refers_to_yellow_umbrella_and_employment_insurance():
    assert for_visit([Need.insurance]) == [
        Proposal(AgencyCode.KBIZ, a.YELLOW_UMBRELLA, "visit:insurance"),
        Proposal(AgencyCode.EMPLOYMENT_INSURANCE, a.SELF_EMPLOYED_INSURANCE, "visit:insurance"),
    ]


def test_education_need_refers_to_semas_courses():
    assert for_visit([Need.education]) == [Proposal(AgencyCode.SEMAS, a.SEMAS_EDUCATION, "visit:education")]


def test_needs_that_refer_nowhere_and_repeats():
    assert for_visit([Need.loan, Need.consulting, Need.guarantee]) == []
    assert for_visit([]) == []
    made = for_visit([Need.education, Need.closure_support, Need.education, Need.loan])
    assert [p.program for p in made] == [a.SEMAS_EDUCATION, a.HOPE_RETURN_PACKAGE]


def test_guarantee_request_refers_to_the_guarantee_foundation():
    assert for_guarantee("SEOUL_CREDIT_GUARANTEE") == Proposal(AgencyCode.SEOUL_CREDIT_GUARANTEE, a.LOAN_GUARANTEE, "loan:guarantee_requested")
    assert for_guarantee(None).agency is AgencyCode.SEOUL_CREDIT_GUARANTEE
    with pytest.raises(ValueError):
        for_guarantee("NO_SUCH_AGENCY")


def test_thirty_day_rule_uses_the_event_dates_either_way():
    first = date(2025, 5, 12)
    assert not is_repeat(first, [])
    assert is_repeat(first + timedelta(days=29), [first])
    assert not is_repeat(first + timedelta(days=30), [first])
    assert is_repeat(first - timedelta(days=29), [first])  # replayed out of order: same verdict
    assert not is_repeat(first + timedelta(days=45), [first, first - timedelta(days=60)])
    assert is_repeat(first, [first])


def test_consent_gate():
    consent = uuid4()
    assert r.gate(a.ConsentRule.hold, consent) == r.Gate(r.State.sent, True, consent)
    assert r.gate(a.ConsentRule.send_without, consent) == r.Gate(r.State.sent, True, consent)
    assert r.gate(a.ConsentRule.hold, None) == r.Gate(r.State.held, False, None)
    assert r.gate(a.ConsentRule.send_without, None) == r.Gate(r.State.sent, False, None)


def test_consent_rules_are_configuration(monkeypatch):
    monkeypatch.setenv("REFERRAL_CONSENT_RULES", '{"KBIZ": "send_without"}')
    monkeypatch.setenv("REFERRAL_OVERDUE_DAYS", "3")
    configured = ReferralPolicy()
    assert configured.overdue_days == 3
    assert configured.agencies[AgencyCode.KBIZ].consent_rule is a.ConsentRule.send_without
    assert configured.agencies[AgencyCode.SEMAS].consent_rule is a.ConsentRule.hold
    assert a.AGENCIES[AgencyCode.KBIZ].consent_rule is a.ConsentRule.hold  # the default is untouched


def test_acknowledge_is_idempotent_and_refuses_contradictions():
    assert r.acknowledge(r.State.sent, None, "REF-1") is True
    assert r.acknowledge(r.State.acknowledged, "REF-1", "REF-1") is False
    assert r.acknowledge(r.State.completed, "REF-1", "REF-1") is False
    for state, current in ((r.State.acknowledged, "REF-1"), (r.State.completed, None), (r.State.held, None), (r.State.cancelled, None)):
        with pytest.raises(r.Conflict):
            r.acknowledge(state, current, "REF-2")


def test_outcome_checks():
    r.check_outcome(a.LOAN_GUARANTEE, ReferralOutcome.guarantee_issued, 30_000_000)
    r.check_outcome(a.LOAN_GUARANTEE, ReferralOutcome.guarantee_declined, None)
    r.check_outcome(a.HOPE_RETURN_PACKAGE, ReferralOutcome.accepted, None)
    with pytest.raises(r.Refused) as missing:
        r.check_outcome(a.LOAN_GUARANTEE, ReferralOutcome.guarantee_issued, None)
    assert missing.value.field == "amount_krw"
    with pytest.raises(r.Refused) as wrong:
        r.check_outcome(a.HOPE_RETURN_PACKAGE, ReferralOutcome.guarantee_issued, 1)
    assert wrong.value.field == "outcome"
    with pytest.raises(r.Refused):
        r.check_outcome(a.LOAN_GUARANTEE, ReferralOutcome.guarantee_issued, 0)


def test_completion_is_idempotent_and_final():
    issued = ReferralOutcome.guarantee_issued
    assert r.complete(r.State.sent, None, issued, 1) is True
    assert r.complete(r.State.acknowledged, None, issued, 1) is True
    assert r.complete(r.State.completed, ("guarantee_issued", 1), issued, 1) is False
    with pytest.raises(r.Conflict):
        r.complete(r.State.completed, ("guarantee_issued", 1), issued, 2)
    with pytest.raises(r.Conflict):
        r.complete(r.State.completed, ("guarantee_issued", 1), ReferralOutcome.guarantee_declined, None)
    with pytest.raises(r.Conflict):
        r.complete(r.State.held, None, ReferralOutcome.accepted, None)


def test_sent_on_and_overdue_in_event_time():
    referred = date(2025, 3, 2)
    assert r.sent_on(referred, None) == referred
    assert r.sent_on(referred, date(2025, 3, 20)) == date(2025, 3, 20)
    assert r.sent_on(referred, date(2025, 3, 1)) == referred
    assert not r.is_overdue(r.State.sent, referred, referred + timedelta(days=14), 14)
    assert r.is_overdue(r.State.sent, referred, referred + timedelta(days=15), 14)
    assert r.is_overdue(r.State.acknowledged, referred, referred + timedelta(days=15), 14)
    assert not r.is_overdue(r.State.completed, referred, referred + timedelta(days=99), 14)
    assert not r.is_overdue(r.State.held, None, referred + timedelta(days=99), 14)
