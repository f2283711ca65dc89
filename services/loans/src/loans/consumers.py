"""Loans' event handlers, one consumer group (`sangsaeng.loans`) that every replica joins:
business facts from intake, drafts from visits, screening of loans' own LoanSubmitted, and
guarantee answers from referrals. Every topic is keyed by business id, so one business's
events of a topic are handled by one replica at a time, in order."""

from __future__ import annotations

import asyncio
import contextlib

from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, BusinessStageChanged
from sangsaeng_common.contracts.loans import LoanSubmitted
from sangsaeng_common.contracts.referrals import ReferralCompleted
from sangsaeng_common.contracts.visits import VisitRecorded
from sangsaeng_common.db import is_transient
from sangsaeng_common.logging import get_logger
from sangsaeng_common.runtime import Runtime
from loans import handlers as commands
from loans.config import settings

log = get_logger(__name__)

handlers = Handlers("loans")


@handlers.on(BusinessRegistered)
async def remember_business(ctx: EventContext, event: BusinessRegistered) -> None:
    await commands.remember_business(ctx, event)


@handlers.on(BusinessStageChanged)
async def follow_stage(ctx: EventContext, event: BusinessStageChanged) -> None:
    await commands.follow_stage(ctx, event)


@handlers.on(BusinessErased)
async def erase_business(ctx: EventContext, event: BusinessErased) -> None:
    await commands.erase_business(ctx, event)


@handlers.on(VisitRecorded)
async def draft_from_visit(ctx: EventContext, event: VisitRecorded) -> None:
    await commands.draft_from_visit(ctx, event, settings().today())


@handlers.on(LoanSubmitted)
async def screen(ctx: EventContext, event: LoanSubmitted) -> None:
    await commands.screen_application(ctx, event, settings())


@handlers.on(ReferralCompleted)
async def guarantee_outcome(ctx: EventContext, event: ReferralCompleted) -> None:
    await commands.guarantee_outcome(ctx, event, settings().today())


async def guarantee_sweeper(runtime: Runtime, stop: asyncio.Event) -> None:
    """Every LOANS_GUARANTEE_SWEEP_INTERVAL_S, move guarantees waiting longer than
    LOANS_GUARANTEE_TIMEOUT_DAYS to guarantee_overdue (runs in every consume replica)."""
    config = settings()
    while not stop.is_set():
        try:
            while True:  # drain: a sweep handles at most 200 rows
                async with runtime.uow() as uow:
                    moved = await commands.sweep_overdue_guarantees(uow, config)
                    await uow.commit()
                if moved:
                    log.info("guarantees timed out", applications=moved)
                if moved < 200:
                    break
        except Exception as exc:  # noqa: BLE001 - the next sweep tries again
            log.warning("guarantee sweep failed", error=repr(exc), transient=is_transient(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), config.guarantee_sweep_interval_s)
