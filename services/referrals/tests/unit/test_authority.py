"""own_agency_referrals_only: an agency answers only the referrals sent to it."""

from referrals.domain.authority import answer_refusal
from referrals.domain.referral import State


def test_an_agency_answers_a_referral_sent_to_it():
    for state in (State.sent, State.acknowledged, State.completed):
        assert answer_refusal("SEMAS", "SEMAS", state) is None


def test_another_agencys_referral_one_never_sent_and_none_at_all_are_refused_alike():
    refusals = {answer_refusal("SEMAS", "KBIZ", State.sent), answer_refusal("SEMAS", "SEMAS", State.held),
                answer_refusal("SEMAS", None, None)}
    assert refusals == {"SEMAS answers only the referrals sent to it, and this is not one of them"}
