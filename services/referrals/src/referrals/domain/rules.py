"""Which events refer a business where, and the 30-day rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sangsaeng_common.contracts.common import AgencyCode, Need
from referrals.domain import agencies as a

DEDUPE_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Proposal:
    """A referral a rule proposes: to whom, for what, and why."""

    agency: AgencyCode
    program: str
    reason: str


# A need -> the programs it refers to, in this order: the same whoever found it (a planner
# on a visit, the desk taking a support request).
NEED_PROGRAMS: dict[Need, tuple[tuple[AgencyCode, str], ...]] = {
    Need.closure_support: ((AgencyCode.SEMAS, a.HOPE_RETURN_PACKAGE),),
    Need.restart_support: ((AgencyCode.SEMAS, a.RESTART_SUPPORT),),
    Need.insurance: ((AgencyCode.KBIZ, a.YELLOW_UMBRELLA), (AgencyCode.EMPLOYMENT_INSURANCE, a.SELF_EMPLOYED_INSURANCE)),
    Need.education: ((AgencyCode.SEMAS, a.SEMAS_EDUCATION),),
}


def for_needs(needs: Iterable[Need], origin: str) -> list[Proposal]:
    """The referrals needs call for, found by `origin` (`visit`, `support_request`): one per
    program, in the order of the needs; the reason says who found which need
    (`visit:education`, `support_request:insurance`).

    `loan`, `guarantee` and `consulting` refer nowhere: loans drafts an application for a
    loan or guarantee need and asks for guarantees itself (GuaranteeRequested), the center
    consults in house."""
    proposals: dict[tuple[AgencyCode, str], Proposal] = {}
    for need in needs:
        for agency, program in NEED_PROGRAMS.get(Need(need), ()):
            proposals.setdefault((agency, program), Proposal(agency, program, f"{origin}:{Need(need).value}"))
    return list(proposals.values())


def for_visit(needs: Iterable[Need]) -> list[Proposal]:
    """The referrals a recorded visit calls for (`for_needs` found on a visit)."""
    return for_needs(needs, "visit")


def for_support_request(needs: Iterable[Need]) -> list[Proposal]:
    """The referrals a support request calls for (`for_needs` found at the desk)."""
    return for_needs(needs, "support_request")


def for_guarantee(agency: str | None) -> Proposal:
    """Loans asked for a guarantee: a referral to the guarantee foundation."""
    code = AgencyCode(agency) if agency else AgencyCode.SEOUL_CREDIT_GUARANTEE
    return Proposal(code, a.LOAN_GUARANTEE, "loan:guarantee_requested")


def is_repeat(referred_on: date, earlier: Iterable[date], window: timedelta = DEDUPE_WINDOW) -> bool:
    """The same program for the same business within `window` of an earlier referral
    (either side: events replayed out of order judge the same way)."""
    return any(abs(referred_on - previous) < window for previous in earlier)
