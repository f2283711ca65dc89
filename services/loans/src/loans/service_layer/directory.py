"""Loans' own effects of intake's business events, beyond the directory's rows (which the
shared projection sangsaeng_common.directory writes; entrypoints/consumers.py declares it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.intake import BusinessDetailsChanged, BusinessErased
from sangsaeng_common.contracts.loans import LoanProgram, LoanRejected, LoanScreened
from sangsaeng_common.handlers import EventContext
from sangsaeng_common.logging import get_logger
from sangsaeng_common.tx import Tx
from loans.adapters import budget, directory, repository
from loans.domain.states import RESCREENED, Action, next_status
from loans.service_layer.handlers import _rule_codes, eligibility_of

log = get_logger(__name__)


async def forget_business(tx: Tx, event: BusinessErased) -> None:
    """Loans holds no names or numbers; it blanks the free text it keeps (withdrawal and decision reasons).
    The directory marked the business erased, which makes new screenings fail `business_known`."""
    await directory.forget_withdraw_reasons(tx.conn, event.business_id)


async def screen_again(ctx: EventContext, event: BusinessDetailsChanged, before: Mapping[str, Any], clock: SeoulClock) -> None:
    """The business's facts changed (a new dong, industry, size): every application of it
    screened but not decided is screened again by the same rules, on the new facts. One that
    no longer passes is rejected (LoanScreened not eligible, then LoanRejected naming the rules;
    its budget goes back); one that still passes stays where it is, and the screening is kept
    in `rescreenings` (no event: nothing changed for it)."""
    conn, today = ctx.conn, clock.today()
    for application in await repository.lock_screened_open(conn, event.business_id, sorted(RESCREENED)):
        terms, _, open_round, failed = await eligibility_of(conn, application)
        status = next_status(application["status"], Action.rescreen_ineligible) if failed else application["status"]
        failed_json = [f.model_dump() for f in failed]
        first = await repository.insert_rescreening(
            conn, application_id=application["id"], cause_event_id=ctx.envelope.id, business_id=event.business_id, eligible=not failed,
            failed_rules=failed_json, status_before=application["status"], status_after=str(status), screened_on=today,
        )
        log.info("application screened again on the business's new facts", application_id=str(application["id"]),
                 changed=sorted(before), eligible=not failed)
        if not first or not failed:
            continue
        await budget.release_budget(conn, application)
        await repository.reject_on_rescreening(conn, application["id"], status=str(status), screened_on=today, failed_rules=failed_json)
        program = LoanProgram(application["program"])
        await ctx.emit(LoanScreened(
            application_id=application["id"], business_id=event.business_id, program=program, eligible=False, failed_rules=failed,
            round_id=open_round.id if open_round else None, reserved_krw=0, screened_on=today,
        ))
        await ctx.emit(LoanRejected(application_id=application["id"], business_id=event.business_id, program=program,
                                    reason_codes=_rule_codes(failed), rejected_on=today))
