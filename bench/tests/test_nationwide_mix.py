"""The nationwide row's events: the demo's half-year plan as the services would have
published it, in the plan's proportions, repeated with fresh ids."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nationwide import half_year, mix, nationwide, verdict, Replayed  # noqa: E402
from sangsaeng_demo.plan import make_plan  # noqa: E402


@pytest.fixture(scope="module")
def plan():
    return make_plan(shops=400, bank=12, fund=14)


def test_a_half_year_has_the_plans_proportions(plan):
    counts = mix(half_year(plan, 0))
    assert counts["BusinessRegistered"] == len(plan.shops)
    assert counts["ConsentGiven"] == sum(1 for s in plan.shops if s.consent_agencies)
    assert counts["VisitScheduled"] == counts["VisitRecorded"] == plan.visits
    assert counts["LoanSubmitted"] == counts["LoanScreened"] == len(plan.loans) == 26
    assert counts["GuaranteeRequested"] == plan.count("bank_cooperation") == 12
    assert counts["LoanApproved"] + counts["LoanRejected"] == len(plan.loans)
    # the referrals the desk requests and visits would send, and one guarantee referral per bank application
    assert counts["ReferralSent"] == sum(plan.expected_visit_referrals().values()) + 12


def test_each_repetition_is_new_businesses_with_a_businesss_events_after_its_registration(plan):
    first, second = list(half_year(plan, 0)), list(half_year(plan, 1))
    assert not {e.business_id for e in first} & {e.business_id for e in second}
    registered = set()
    for event in first:
        if type(event).__name__ == "BusinessRegistered":
            registered.add(event.business_id)
        assert event.business_id in registered


def test_exactly_as_many_events_as_asked(plan):
    per_half_year = sum(1 for _ in half_year(plan, 0))
    events = list(nationwide(per_half_year * 2 + 7, plan))
    assert len(events) == per_half_year * 2 + 7
    third_begun = sum(1 for e in list(half_year(plan, 2))[:7] if type(e).__name__ == "BusinessRegistered")
    assert len({e.business_id for e in events if type(e).__name__ == "BusinessRegistered"}) == len(plan.shops) * 2 + third_begun


def _replayed(service: str, events: int, seconds: float, peak_mib: int) -> Replayed:
    return Replayed(service, events, seconds, seconds + 2, seconds, peak_mib * 1024, 1)


def test_memory_is_flat_within_ten_percent_and_ten_million_extrapolates_linearly():
    small = [_replayed("intake", 100_000, 5, 100), _replayed("visits", 57_000, 2, 90)]
    flat_large = [_replayed("intake", 1_000_000, 50, 109), _replayed("visits", 570_000, 20, 95)]
    flat, moonshot, seconds, lines = verdict(small, flat_large, 1_000_000)
    assert flat and seconds == pytest.approx(700) and not moonshot and len(lines) == 2
    grown = [_replayed("intake", 1_000_000, 10, 111), _replayed("visits", 570_000, 10, 90)]
    flat, moonshot, seconds, _ = verdict(small, grown, 1_000_000)
    assert not flat and moonshot and seconds == pytest.approx(200)
