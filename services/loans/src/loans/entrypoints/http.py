"""Loans' thin HTTP routes: parse, authorise, turn the body into a command, run its handler
in one unit of work (once per Idempotency-Key, scoped by the route), answer. Domain errors
become problem+json in one place (sangsaeng_common.http), not here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from sangsaeng_common import pagination
from sangsaeng_common.contracts.loans import LoanProgram
from sangsaeng_common.errors import NotFound, invalid
from sangsaeng_common.http import Principal, require
from sangsaeng_common.idempotency import IdempotencyKey
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.unit_of_work import UnitOfWork
from loans.adapters import queries
from loans.domain.states import Status
from loans.entrypoints.schemas import (
    Application,
    ApplicationIn,
    ApplicationReport,
    DecisionIn,
    DisbursementIn,
    Program,
    RepaymentIn,
    Round,
    RoundIn,
    SubmitDraftIn,
    WithdrawIn,
)
from loans.service_layer import handlers, repayments
from loans.service_layer.commands import Decide, Disburse, PutRound, RecordRepayment, SubmitApplication, SubmitDraft, Withdraw

if TYPE_CHECKING:
    from loans.bootstrap import Dependencies


def _json(row: Any) -> dict:
    return Application.of(row).model_dump(mode="json")


def routes(runtime: Runtime, deps: Dependencies) -> list[APIRouter]:
    programs = APIRouter(tags=["programs"])
    applications = APIRouter(tags=["applications"])
    reports = APIRouter(tags=["reports"])
    readers = require("staff", "loan_officer", "auditor")
    staff = require("staff")
    officer = require("loan_officer")
    cashier = require("loan_officer", "staff")  # a repayment is recorded at the desk or by the officer
    # Staff or a loan officer take an application; whoever submitted (or drafted) it may not
    # decide or disburse it (loans.domain.duties: segregation_of_duties).
    takers = require("staff", "loan_officer")
    duty_refused = {403: {"description": "the caller's role may not do this (`x-roles`), or the rule `segregation_of_duties` (the "
                                         "problem's `rule`): whoever submitted or drafted the application may not decide or disburse it"}}
    clock = deps.clock
    grace_days = deps.settings.arrears_grace_days

    async def run_command(
        handle: Callable[..., Awaitable[Any]], command: Any, request: Request, principal: Principal, idempotency_key: str | None,
        request_body: Any, status_code: int = 200,
    ) -> tuple[int, dict]:
        """The command's handler in one unit of work, once per Idempotency-Key (scoped by the route)."""
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return status_code, _json(await handle(uow, command, clock))

        return await runtime.command(run, request=request, principal=principal, idempotency_key=idempotency_key, request_body=request_body)

    async def on_application(
        handle: Callable[..., Awaitable[Any]], command: Any, request: Request, body: Any, principal: Principal, idempotency_key: str | None
    ) -> JSONResponse:
        """A command on one application (`/applications/{application_id}/...`), answered with the application."""
        request_body = {"id": str(command.application_id), **body.model_dump(mode="json")}
        status, payload = await run_command(handle, command, request, principal, idempotency_key, request_body)
        return JSONResponse(payload, status_code=status)

    # ------------------------------------------------------------ programs and rounds

    @programs.get("/programs", response_model=list[Program], summary="The loan programs, their terms (data) and fund rounds")
    async def list_programs(_: Principal = readers) -> list[Program]:
        async with runtime.pool.acquire() as conn:
            return [Program.model_validate(p) for p in await queries.programs(conn)]

    @programs.get("/rounds", response_model=list[Round], summary="Fund rounds with budget, reserved and remaining")
    async def list_rounds(_: Principal = readers) -> list[Round]:
        async with runtime.pool.acquire() as conn:
            return [Round.model_validate(r) for r in await queries.rounds(conn)]

    @programs.put("/rounds/{round_id}", response_model=Round, summary="Open a fund round or change its dates and budget (loan officer)")
    async def put_round(round_id: str, body: RoundIn, _: Principal = officer) -> Round:
        command = PutRound(round_id=round_id, program=body.program, name=body.name, opens_on=body.opens_on, closes_on=body.closes_on,
                           budget_krw=body.budget_krw)
        async with runtime.uow() as uow:
            row = await handlers.put_round(uow, command)
            await uow.commit()
        return Round.model_validate(queries.round_view(row))

    # ------------------------------------------------------------ applications

    @applications.post(
        "/applications", status_code=201, response_model=Application, summary="Submit an application (emits LoanSubmitted; screening follows)",
        responses={503: {"description": "loans has not heard of the business yet (intake's BusinessRegistered has not arrived), or a "
                                        "dependency is unreachable: retry after `Retry-After` seconds with the same Idempotency-Key"}},
    )
    async def submit(
        request: Request, body: ApplicationIn, principal: Principal = takers, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = SubmitApplication(
            business_id=body.business_id, program=body.program, amount_krw=body.amount_krw, purpose=body.purpose.value,
            submitted_by=principal.name, term_months=body.term_months, documents=frozenset(d.value for d in body.documents),
            submitted_on=body.submitted_on,
        )

        status, payload = await run_command(handlers.submit_application, command, request, principal, idempotency_key,
                                            body.model_dump(mode="json"), status_code=201)
        return JSONResponse(payload, status_code=status, headers={"Location": f"/applications/{payload['id']}"} if status == 201 else None)

    @applications.get("/applications", response_model=list[Application], responses=pagination.PAGED,
                      summary="Applications of a business, or in a status (e.g. guarantee_overdue), newest first; pages: `Next-Cursor`")
    async def list_applications(
        request: Request,
        response: Response,
        _: Principal = readers,
        business_id: UUID | None = None,
        status: Status | None = None,
        program: LoanProgram | None = None,
        limit: pagination.Limit = pagination.DEFAULT_LIMIT,
        cursor: pagination.Cursor = None,
    ) -> list[Application]:
        after = pagination.decode_cursor(cursor, pagination.DATETIME, pagination.ID)
        async with runtime.pool.acquire() as conn:
            rows = await queries.applications(
                conn, business_id=business_id, status=status.value if status else None, program=program.value if program else None,
                limit=limit + 1, after=after,
            )
        shown = pagination.page(rows, limit, lambda r: (r["created_at"], r["id"]), request, response)
        return [Application.of(r, with_schedule=False) for r in shown]

    @applications.get("/applications/{application_id}", response_model=Application,
                      summary="One application; once disbursed, its schedule, repayments, outstanding principal and arrears today")
    async def get_application(application_id: UUID, _: Principal = readers) -> Application:
        async with runtime.pool.acquire() as conn:
            found = await queries.application(conn, application_id)
            if found is None:
                raise NotFound("Application not found", f"no application {application_id}")
            position = await repayments.position(conn, found, clock.today(), grace_days=grace_days)
        return Application.of(found, repayment=position)

    @applications.post("/applications/{application_id}/submit", response_model=Application, summary="Complete and submit a draft (emits LoanSubmitted)")
    async def submit_draft(
        request: Request, application_id: UUID, body: SubmitDraftIn, principal: Principal = takers, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = SubmitDraft(
            application_id=application_id, program=body.program, amount_krw=body.amount_krw, purpose=body.purpose.value,
            submitted_by=principal.name, business_id=body.business_id, term_months=body.term_months,
            documents=frozenset(d.value for d in body.documents), submitted_on=body.submitted_on,
        )
        return await on_application(handlers.submit_draft, command, request, body, principal, idempotency_key)

    @applications.post("/applications/{application_id}/decision", response_model=Application, responses=duty_refused,
                       summary="Approve (never above the limit) or reject with reasons; not by its submitter or drafter")
    async def decide(
        request: Request, application_id: UUID, body: DecisionIn, principal: Principal = officer, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = Decide(application_id=application_id, decision=body.decision, decided_by=principal.name, amount_krw=body.amount_krw,
                         reasons=tuple(body.reasons), decided_on=body.decided_on)
        return await on_application(handlers.decide, command, request, body, principal, idempotency_key)

    @applications.post("/applications/{application_id}/disbursement", response_model=Application, responses=duty_refused,
                       summary="Disburse an approved loan (not by its submitter or drafter); computes the repayment schedule")
    async def disburse(
        request: Request, application_id: UUID, body: DisbursementIn, principal: Principal = officer, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = Disburse(application_id=application_id, disbursed_by=principal.name, disbursed_on=body.disbursed_on,
                           annual_rate_pct=body.annual_rate_pct)
        return await on_application(handlers.disburse, command, request, body, principal, idempotency_key)

    @applications.post(
        "/applications/{application_id}/repayments", response_model=Application,
        summary="Record a repayment of a disbursed loan (emits LoanRepaymentRecorded; LoanRepaid at zero principal; "
                "LoanInArrears for instalments it shows were missed)",
    )
    async def record_repayment(
        request: Request, application_id: UUID, body: RepaymentIn, principal: Principal = cashier, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = RecordRepayment(application_id=application_id, amount_krw=body.amount_krw, recorded_by=principal.name, paid_on=body.paid_on)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await repayments.record_repayment(uow, command, clock, grace_days=grace_days)
            position = await repayments.position(uow.conn, row, clock.today(), grace_days=grace_days)
            return 200, Application.of(row, repayment=position).model_dump(mode="json")

        status, payload = await runtime.command(run, request=request, principal=principal, idempotency_key=idempotency_key,
                                                request_body={"id": str(application_id), **body.model_dump(mode="json")})
        return JSONResponse(payload, status_code=status)

    @applications.post("/applications/{application_id}/withdraw", response_model=Application, summary="Withdraw an open application or draft (releases its reservation)")
    async def withdraw(
        request: Request, application_id: UUID, body: WithdrawIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = Withdraw(application_id=application_id, reason=body.reason, reason_code=body.reason_code)
        return await on_application(handlers.withdraw, command, request, body, principal, idempotency_key)

    # ------------------------------------------------------------ reports

    @reports.get("/reports/applications", response_model=ApplicationReport, summary="Applications submitted in a period, by program and status, with amounts; the principal outstanding on `to` and repaid in the period")
    async def report(first: date = Query(alias="from"), last: date = Query(alias="to"), _: Principal = readers) -> ApplicationReport:
        if last < first:
            raise invalid("to", "is before from")
        async with runtime.pool.acquire() as conn:
            return ApplicationReport.model_validate(await queries.report(conn, first, last))

    return [programs, applications, reports]
