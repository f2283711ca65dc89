"""Composition root of loans."""

from sangsaeng_common.contracts.loans import (
    GuaranteeRequested,
    GuaranteeTimedOut,
    LoanApproved,
    LoanDisbursed,
    LoanDraftCreated,
    LoanRejected,
    LoanScreened,
    LoanSubmitted,
    LoanWithdrawn,
)
from sangsaeng_common.read_models import ReadModel
from sangsaeng_common.runtime import ServiceDefinition
from loans.consumers import guarantee_sweeper, handlers
from loans.entrypoints.http import routes

definition = ServiceDefinition(
    name="loans",
    title="Sangsaeng loans",
    description="The district's two loan programs (중소기업육성기금, 시중은행 협력자금): programs and fund rounds as data, "
    "applications and drafts, eligibility screening with fund-round budgets, the credit-guarantee saga, decisions, "
    "disbursement with repayment schedules, and counts. Screening runs in the consumers: scale them out with `consume` replicas.",
    routes=routes,
    consumers=[handlers],
    produces=[LoanDraftCreated, LoanSubmitted, LoanScreened, GuaranteeRequested, GuaranteeTimedOut, LoanApproved, LoanRejected,
              LoanDisbursed, LoanWithdrawn],
    tasks=[guarantee_sweeper],
    # The business facts screening uses come only from intake's events: a replay rebuilds them exactly.
    read_models=[ReadModel("businesses", key=("id",), ignore=("updated_at",), subject="id")],
)
