"""Which needs make a draft application, whoever found them: a planner on a visit
(VisitRecorded.needs_identified) or the desk (SupportRequested.needs). One rule for both.

A draft is not an application (the owner has not applied): staff complete and submit it.
One open draft per business is enough, whatever caused it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.loans import LoanProgram


@dataclass(frozen=True)
class DraftProposal:
    program: LoanProgram | None  # the program the draft starts in (staff may choose another on submission)


def draft_for(needs: Iterable[Need]) -> DraftProposal | None:
    """A loan need makes a draft; a guarantee need takes the guarantee path: a draft in the
    bank-cooperation fund, whose collateral is the Seoul Credit Guarantee Foundation's
    guarantee (screening asks the foundation, GuaranteeRequested). Neither: no draft."""
    wanted = {Need(n) for n in needs}
    if Need.guarantee in wanted:
        return DraftProposal(LoanProgram.bank_cooperation)
    if Need.loan in wanted:
        return DraftProposal(None)
    return None
