"""Composition root of loans: reads the settings, builds the clock and the budget claims'
side pools, and wires them into the consumers, the routes and the guarantee sweeper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.loans import (
    GuaranteeRequested,
    GuaranteeTimedOut,
    LoanApproved,
    LoanDisbursed,
    LoanDraftCreated,
    LoanInArrears,
    LoanRejected,
    LoanRepaid,
    LoanRepaymentRecorded,
    LoanScreened,
    LoanSubmitted,
    LoanWithdrawn,
)
from sangsaeng_common.runtime import ServiceDefinition
from sangsaeng_common.settings import ServiceSettings
from loans.adapters.budget import BudgetClaims, ClaimPools
from loans.config import LoansSettings
from loans.entrypoints import consumers, http


@dataclass(frozen=True)
class Dependencies:
    """What the entrypoints hand the service layer: built once, here."""

    settings: LoansSettings
    clock: SeoulClock
    claims: BudgetClaims


def build(settings: LoansSettings | None = None) -> ServiceDefinition:
    settings = settings or LoansSettings()
    # Budget claims commit on side connections of their own (adapters/budget.py says why):
    # one small pool per schema in use, so a replay's scratch schema gets its own. They are
    # opened for as long as the process (or a replay run on its own) lives.
    pools = ClaimPools()
    deps = Dependencies(settings=settings, clock=SeoulClock(settings.clock_offset_days), claims=BudgetClaims(pools))

    @asynccontextmanager
    async def claim_pools(service: ServiceSettings) -> AsyncIterator[None]:
        async with pools.opened(service.database_url):
            yield

    return ServiceDefinition(
        name="loans",
        title="Sangsaeng loans",
        description="The district's two loan programs (중소기업육성기금, 시중은행 협력자금): programs and fund rounds as data, "
        "applications and drafts, eligibility screening with fund-round budgets, the credit-guarantee saga, decisions, "
        "disbursement with repayment schedules, repayments and arrears, and counts. Screening runs in the consumers: scale them out with `consume` replicas.",
        routes=lambda runtime: http.routes(runtime, deps),
        consumers=[consumers.handlers(deps)],
        produces=[LoanDraftCreated, LoanSubmitted, LoanScreened, GuaranteeRequested, GuaranteeTimedOut, LoanApproved, LoanRejected,
                  LoanDisbursed, LoanWithdrawn, LoanRepaymentRecorded, LoanRepaid, LoanInArrears],
        tasks=[consumers.guarantee_sweeper(deps), consumers.orphaned_claim_sweeper(deps), consumers.arrears_sweeper(deps)],
        # The business facts screening uses come only from intake's events: a replay rebuilds them exactly.
        read_models=consumers.business_directory(deps.clock).read_models(),
        resources=[claim_pools],
    )
