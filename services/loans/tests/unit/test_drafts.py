"""Which needs make a draft, whoever found them (a visit or the desk)."""

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.loans import LoanProgram
from loans.domain.drafts import DraftProposal, draft_for
from loans.domain.states import RESCREENED, Action, Status, next_status


def test_a_loan_need_makes_a_draft_without_a_program():
    assert draft_for([Need.consulting, Need.loan]) == DraftProposal(None)


def test_a_guarantee_need_takes_the_guarantee_path():
    assert draft_for([Need.guarantee]) == DraftProposal(LoanProgram.bank_cooperation)
    assert draft_for([Need.loan, Need.guarantee]) == DraftProposal(LoanProgram.bank_cooperation)


def test_other_needs_make_no_draft():
    assert draft_for([Need.insurance, Need.education, Need.consulting]) is None
    assert draft_for([]) is None


def test_an_undecided_application_that_fails_when_screened_again_is_rejected():
    for status in RESCREENED:
        assert next_status(status, Action.rescreen_ineligible) is Status.rejected
    assert Status.submitted not in RESCREENED and Status.approved not in RESCREENED
