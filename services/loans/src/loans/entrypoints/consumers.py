"""Loans' event handlers, one consumer group (`sangsaeng.loans`) that every replica joins:
business facts from intake (a change of them screens undecided applications again), drafts
from visits' and the desk's needs, screening of loans' own LoanSubmitted, and
guarantee answers from referrals. Every topic is keyed by business id, so one business's
events of a topic are handled by one replica at a time, in order. Also the guarantee
sweeper, a task every consume replica runs. Thin: decode, then the service layer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.intake import BusinessDetailsChanged, SupportRequested
from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts.loans import LoanSubmitted
from sangsaeng_common.contracts.referrals import ReferralCompleted
from sangsaeng_common.contracts.visits import VisitRecorded
from sangsaeng_common.db import is_transient
from sangsaeng_common.directory import BusinessDirectory, Erasure
from sangsaeng_common.logging import get_logger
from sangsaeng_common.runtime import Runtime
from loans.service_layer import directory, handlers as service
from loans.service_layer import repayments
from loans.service_layer.commands import ScreenApplication

if TYPE_CHECKING:
    from loans.bootstrap import Dependencies

log = get_logger(__name__)


def business_directory(clock: SeoulClock) -> BusinessDirectory:
    """What loans keeps of intake's businesses: the facts screening reads. No names, no
    registration numbers: an erasure blanks nothing here, it marks the business erased. A
    change of those facts screens the business's undecided applications again."""

    async def screen_again(ctx: EventContext, event: BusinessDetailsChanged, before: Mapping[str, Any]) -> None:
        await directory.screen_again(ctx, event, before, clock)

    return BusinessDirectory(
        columns=("dong", "industry", "employees", "is_micro_business", "stage", "registered_on"),
        erasure=Erasure(blank={}),
        on_erased=directory.forget_business,
        on_details_changed=screen_again,
    )


def handlers(deps: Dependencies) -> Handlers:
    registry = Handlers("loans")

    # ------------------------------------------------------------ the business directory (intake)

    business_directory(deps.clock).register(registry)

    # ------------------------------------------------------------ drafts, screening, the guarantee saga

    @registry.on(VisitRecorded)
    async def draft_from_visit(ctx: EventContext, event: VisitRecorded) -> None:
        await service.draft_from_visit(ctx, event, deps.clock)

    @registry.on(SupportRequested)
    async def draft_from_support_request(ctx: EventContext, event: SupportRequested) -> None:
        await service.draft_from_support_request(ctx, event, deps.clock)

    @registry.on(LoanSubmitted)
    async def screen(ctx: EventContext, event: LoanSubmitted) -> None:
        command = ScreenApplication(application_id=event.application_id, event_id=ctx.envelope.id,
                                    kafka_partition=ctx.record.partition, kafka_offset=ctx.record.offset)
        await service.screen_application(ctx, command, deps.clock, deps.claims)

    @registry.on(ReferralCompleted)
    async def guarantee_outcome(ctx: EventContext, event: ReferralCompleted) -> None:
        await service.guarantee_outcome(ctx, event, deps.clock)

    return registry


def guarantee_sweeper(deps: Dependencies) -> Callable[[Runtime, asyncio.Event], Awaitable[None]]:
    async def guarantee_sweeper(runtime: Runtime, stop: asyncio.Event) -> None:
        """Every LOANS_GUARANTEE_SWEEP_INTERVAL_S, move guarantees waiting longer than
        LOANS_GUARANTEE_TIMEOUT_DAYS to guarantee_overdue (runs in every consume replica)."""
        while not stop.is_set():
            try:
                while True:  # drain: a sweep handles at most SWEEP_LIMIT rows
                    async with runtime.uow() as uow:
                        moved = await service.sweep_overdue_guarantees(uow, deps.clock, deps.settings.guarantee_timeout_days)
                        await uow.commit()
                    if moved:
                        log.info("guarantees timed out", applications=moved)
                    if moved < service.SWEEP_LIMIT:
                        break
            except Exception as exc:  # noqa: BLE001 - the next sweep tries again
                log.warning("guarantee sweep failed", error=repr(exc), transient=is_transient(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), deps.settings.guarantee_sweep_interval_s)

    return guarantee_sweeper


def orphaned_claim_sweeper(deps: Dependencies) -> Callable[[Runtime, asyncio.Event], Awaitable[None]]:
    async def orphaned_claim_sweeper(runtime: Runtime, stop: asyncio.Event) -> None:
        """Every LOANS_CLAIM_SWEEP_INTERVAL_S, give back budget claims older than
        LOANS_ORPHANED_CLAIM_AFTER_S that no screening holds (runs in every consume replica)."""
        while not stop.is_set():
            try:
                while True:
                    async with runtime.uow() as uow:
                        released = await service.release_orphaned_claims(uow, deps.settings.orphaned_claim_after_s)
                        await uow.commit()
                    if released < service.SWEEP_LIMIT:
                        break
            except Exception as exc:  # noqa: BLE001 - the next sweep tries again
                log.warning("orphaned claim sweep failed", error=repr(exc), transient=is_transient(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), deps.settings.claim_sweep_interval_s)

    return orphaned_claim_sweeper


def arrears_sweeper(deps: Dependencies) -> Callable[[Runtime, asyncio.Event], Awaitable[None]]:
    async def arrears_sweeper(runtime: Runtime, stop: asyncio.Event) -> None:
        """Every LOANS_ARREARS_SWEEP_INTERVAL_S, check disbursed loans whose next instalment's due
        date (plus LOANS_ARREARS_GRACE_DAYS) has passed, as of today in Seoul, and announce each
        missed one (LoanInArrears). Runs in every consume replica."""
        while not stop.is_set():
            try:
                while True:
                    async with runtime.uow() as uow:
                        checked = await repayments.sweep_arrears(uow, deps.clock, grace_days=deps.settings.arrears_grace_days)
                        await uow.commit()
                    if checked < repayments.SWEEP_LIMIT:
                        break
            except Exception as exc:  # noqa: BLE001 - the next sweep tries again
                log.warning("arrears sweep failed", error=repr(exc), transient=is_transient(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), deps.settings.arrears_sweep_interval_s)

    return arrears_sweeper
