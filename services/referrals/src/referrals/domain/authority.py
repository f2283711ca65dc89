"""Who may answer a referral: an agency user answers (acknowledges, gives the outcome of) only
the referrals sent to their own agency. Pure: the answering agency and the referral as the
agency may see it in, the refusal's reason (or None) out. The service layer raises it as a
403 naming the rule; audit's verify checks it again over the log."""

from __future__ import annotations

from referrals.domain.referral import VISIBLE_TO_AGENCY, State

OWN_AGENCY_REFERRALS_ONLY = "own_agency_referrals_only"


def answer_refusal(answering: str, referral_agency: str | None, state: State | None) -> str | None:
    """Why `answering` may not answer the referral (`referral_agency` and `state` None: no such
    referral); None if they may. Another agency's referral, one never sent (held) and one that
    does not exist are refused alike, so that an answer tells an agency nothing of others'."""
    if referral_agency == answering and state in VISIBLE_TO_AGENCY:
        return None
    return f"{answering} answers only the referrals sent to it, and this is not one of them"
