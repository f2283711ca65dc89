"""Needs from the desk refer by the same rule as a visit's: the same programs, a reason naming
who found the need, and one 30-day rule over both."""

from datetime import date

from sangsaeng_common.contracts.common import AgencyCode, Need
from referrals.domain import agencies as a
from referrals.domain.rules import for_needs, for_support_request, for_visit, is_repeat


def test_a_desk_insurance_need_refers_to_kbiz_and_employment_insurance():
    proposals = for_support_request([Need.insurance])
    assert [(p.agency, p.program, p.reason) for p in proposals] == [
        (AgencyCode.KBIZ, a.YELLOW_UMBRELLA, "support_request:insurance"),
        (AgencyCode.EMPLOYMENT_INSURANCE, a.SELF_EMPLOYED_INSURANCE, "support_request:insurance"),
    ]


def test_the_desk_and_a_visit_refer_the_same_programs_for_every_need():
    for need in Need:
        desk = [(p.agency, p.program) for p in for_support_request([need])]
        assert desk == [(p.agency, p.program) for p in for_visit([need])], need
    assert [p.program for p in for_support_request([Need.education])] == [a.SEMAS_EDUCATION]
    assert for_support_request([Need.loan, Need.guarantee, Need.consulting]) == []  # loans drafts; the center consults
    assert for_needs([Need.education, Need.education], "visit") == for_visit([Need.education])


def test_one_30_day_rule_whoever_found_the_need():
    visited, at_the_desk = date(2025, 5, 12), date(2025, 6, 1)
    assert is_repeat(at_the_desk, [visited])  # a desk request 20 days after a visit's referral: none
    assert not is_repeat(date(2025, 6, 11), [visited])
