"""Loans' thin HTTP routes: parse, authorise, run one handler in one unit of work, answer."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sangsaeng_common.contracts.loans import LoanProgram
from sangsaeng_common.http import Principal, Problem, require
from sangsaeng_common.idempotency import IdempotencyKey
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.unit_of_work import UnitOfWork
from loans import handlers, queries
from loans.config import settings
from loans.domain.states import Status
from loans.models import Application, ApplicationIn, DecisionIn, DisbursementIn, RoundIn, SubmitDraftIn, WithdrawIn



class Round(BaseModel):
    id: str
    program: LoanProgram
    name: str
    opens_on: date
    closes_on: date | None
    budget_krw: int
    reserved_krw: int
    remaining_krw: int
    updated_at: datetime


class Program(BaseModel):
    code: LoanProgram
    name: str
    name_en: str
    money_from: str
    annual_rate_pct: Decimal | None = Field(description="fixed rate; null: the partner bank's rate")
    grace_months: int
    instalments: int
    max_term_months: int | None
    limit_micro_krw: int
    limit_sme_krw: int
    min_months_since_registration: int | None
    requires_district: bool
    excludes_current_fund_borrowers: bool
    uses_rounds: bool
    requires_guarantee: bool
    guarantee_agency: str | None
    subsidy_rate_pct: Decimal | None
    subsidy_months: int | None
    partner_bank: str | None
    district_contribution_krw: int | None
    guarantee_limit_krw: int | None
    allowed_purposes: list[str]
    required_documents: list[str]
    excluded_industries: list[str]
    district_dongs: list[str]
    rounds: list[Round]
    notes: str | None


class ProgramCount(BaseModel):
    program: LoanProgram
    applications: int
    requested_krw: int
    approved_krw: int
    disbursed_krw: int
    by_status: dict[str, int]


class ApplicationReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    applications: int
    requested_krw: int
    approved_krw: int
    disbursed_krw: int
    by_program: list[ProgramCount]


def _json(row: Any) -> dict:
    return Application.of(row).model_dump(mode="json")


def routes(runtime: Runtime) -> list[APIRouter]:
    programs = APIRouter(tags=["programs"])
    applications = APIRouter(tags=["applications"])
    reports = APIRouter(tags=["reports"])
    readers = require("staff", "loan_officer", "auditor")
    staff = require("staff")
    officer = require("loan_officer")


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
        if not (1 <= len(round_id) <= 40) or not round_id.replace("-", "").isalnum():
            raise Problem.invalid("round_id", "1 to 40 letters, digits and hyphens")
        async with runtime.uow() as uow:
            row = await handlers.put_round(uow.conn, round_id, body)
            await uow.commit()
        return Round.model_validate(queries._round(row))  # noqa: SLF001

    # ------------------------------------------------------------ applications

    @applications.post("/applications", status_code=201, response_model=Application, summary="Submit an application (emits LoanSubmitted; screening follows)")
    async def submit(body: ApplicationIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.submit_application(uow, body, principal.name, settings().today())
            return 201, _json(row)

        status, payload = await runtime.command(run, scope="POST /applications", principal=principal, idempotency_key=idempotency_key, request_body=body.model_dump(mode="json"))
        return JSONResponse(payload, status_code=status, headers={"Location": f"/applications/{payload['id']}"} if status == 201 else None)

    @applications.get("/applications", response_model=list[Application], summary="Applications of a business, or in a status (e.g. guarantee_overdue)")
    async def list_applications(
        _: Principal = readers,
        business_id: UUID | None = None,
        status: Status | None = None,
        program: LoanProgram | None = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[Application]:
        async with runtime.pool.acquire() as conn:
            return await queries.applications(
                conn, business_id=business_id, status=status.value if status else None, program=program.value if program else None, limit=limit
            )

    @applications.get("/applications/{application_id}", response_model=Application, summary="One application, with its repayment schedule once disbursed")
    async def get_application(application_id: UUID, _: Principal = readers) -> Application:
        async with runtime.pool.acquire() as conn:
            found = await queries.application(conn, application_id)
        if found is None:
            raise Problem(404, "Application not found", f"no application {application_id}")
        return found

    @applications.post("/applications/{application_id}/submit", response_model=Application, summary="Complete and submit a draft (emits LoanSubmitted)")
    async def submit_draft(
        application_id: UUID, body: SubmitDraftIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _json(await handlers.submit_draft(uow, application_id, body, principal.name, settings().today()))

        status, payload = await runtime.command(run, scope="POST /applications/{id}/submit", principal=principal, idempotency_key=idempotency_key,
                                        request_body={"id": str(application_id), **body.model_dump(mode="json")})
        return JSONResponse(payload, status_code=status)

    @applications.post("/applications/{application_id}/decision", response_model=Application, summary="Approve (never above the limit) or reject with reasons")
    async def decide(
        application_id: UUID, body: DecisionIn, principal: Principal = officer, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _json(await handlers.decide(uow, application_id, body, principal.name, settings().today()))

        status, payload = await runtime.command(run, scope="POST /applications/{id}/decision", principal=principal, idempotency_key=idempotency_key,
                                        request_body={"id": str(application_id), **body.model_dump(mode="json")})
        return JSONResponse(payload, status_code=status)

    @applications.post("/applications/{application_id}/disbursement", response_model=Application, summary="Disburse an approved loan; computes the repayment schedule")
    async def disburse(
        application_id: UUID, body: DisbursementIn, principal: Principal = officer, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _json(await handlers.disburse(uow, application_id, body, settings().today()))

        status, payload = await runtime.command(run, scope="POST /applications/{id}/disbursement", principal=principal, idempotency_key=idempotency_key,
                                        request_body={"id": str(application_id), **body.model_dump(mode="json")})
        return JSONResponse(payload, status_code=status)

    @applications.post("/applications/{application_id}/withdraw", response_model=Application, summary="Withdraw an open application or draft (releases its reservation)")
    async def withdraw(
        application_id: UUID, body: WithdrawIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _json(await handlers.withdraw(uow, application_id, body, settings().today()))

        status, payload = await runtime.command(run, scope="POST /applications/{id}/withdraw", principal=principal, idempotency_key=idempotency_key,
                                        request_body={"id": str(application_id), **body.model_dump(mode="json")})
        return JSONResponse(payload, status_code=status)

    # ------------------------------------------------------------ reports

    @reports.get("/reports/applications", response_model=ApplicationReport, summary="Applications submitted in a period, by program and status, with amounts")
    async def report(first: date = Query(alias="from"), last: date = Query(alias="to"), _: Principal = readers) -> ApplicationReport:
        if last < first:
            raise Problem.invalid("to", "is before from")
        async with runtime.pool.acquire() as conn:
            return ApplicationReport.model_validate(await queries.report(conn, first, last))

    return [programs, applications, reports]
