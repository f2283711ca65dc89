"""Referrals' thin HTTP routes: agencies, referrals, and the agency API.

An agency's user (role `agency`, with its agency) sees and answers only its own referrals, and
only those sent to it (service_layer/views.py reads, domain/authority.py answers:
`own_agency_referrals_only`). Domain errors become
problem+json in one place (sangsaeng_common.http.install_problem_handlers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sangsaeng_common import pagination
from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.referrals import agency_topic
from sangsaeng_common.http import Principal, require
from sangsaeng_common.idempotency import IdempotencyKey
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.unit_of_work import UnitOfWork
from referrals.entrypoints.schemas import AcknowledgeIn, AgencyOut, OutcomeIn, OverdueReferral, ReferIn, Referral
from referrals.service_layer import handlers, views
from referrals.service_layer.commands import Acknowledge, RecordOutcome, ReferByHand
from referrals.service_layer.handlers import Deps

STAFF_READERS = ("staff", "planner", "loan_officer", "auditor")


def _json(row) -> dict:
    return Referral.of(row).model_dump(mode="json")


def _reader(principal: Principal) -> str | None:
    """The agency a reader is (None: staff, who read every agency's referrals)."""
    return principal.agency if principal.role == "agency" else None


def routes(deps: Deps) -> Callable[[Runtime], list[APIRouter]]:
    def build(runtime: Runtime) -> list[APIRouter]:
        return _routes(runtime, deps)

    return build


def _routes(runtime: Runtime, deps: Deps) -> list[APIRouter]:
    agencies = APIRouter(tags=["agencies"])
    referrals = APIRouter(tags=["referrals"])
    agency_api = APIRouter(tags=["agency API"])
    anyone = require(*STAFF_READERS, "agency")
    staff = require("staff")
    agency_only = require("agency")
    # An agency answers only the referrals sent to it (referrals.domain.authority).
    own_only = {403: {"description": "the caller's role may not do this (`x-roles`), or the rule `own_agency_referrals_only` (the "
                                     "problem's `rule`): the referral is not one sent to the caller's agency (another's, one "
                                     "never sent, or none: refused alike)"}}

    @agencies.get("/agencies", response_model=list[AgencyOut], summary="Partner agencies, their programs, consent rules and topics")
    async def list_agencies(_: Principal = anyone) -> list[AgencyOut]:
        return [AgencyOut.of(a, agency_topic(a.code)) for a in deps.policy.agencies.values()]

    @referrals.get("/referrals", response_model=list[Referral], responses=pagination.PAGED,
                   summary="Referrals (an agency sees only those sent to it), oldest first; pages: `Next-Cursor`")
    async def list_referrals(
        request: Request,
        response: Response,
        principal: Principal = anyone,
        business_id: UUID | None = None,
        agency: AgencyCode | None = None,
        state: Literal["held", "sent", "acknowledged", "completed", "cancelled"] | None = None,
        limit: pagination.Limit = pagination.DEFAULT_LIMIT,
        cursor: pagination.Cursor = None,
    ) -> list[Referral]:
        after = pagination.decode_cursor(cursor, pagination.DATETIME, pagination.ID)
        async with runtime.pool.acquire() as conn:
            rows = await views.referrals(conn, _reader(principal), business_id=business_id, agency=agency, state=state, limit=limit + 1,
                                         after=after)
        shown = pagination.page(rows, limit, lambda row: (row["created_at"], row["id"]), request, response)
        return [Referral.of(row) for row in shown]

    @referrals.get("/referrals/overdue", response_model=list[OverdueReferral],
                   summary="Sent referrals with no outcome after REFERRAL_OVERDUE_DAYS")
    async def overdue(
        principal: Principal = anyone,
        agency: AgencyCode | None = None,
        as_of: date | None = Query(None, description="default today (Seoul)"),
    ) -> list[OverdueReferral]:
        async with runtime.pool.acquire() as conn:
            found = await views.overdue(conn, deps, _reader(principal), agency=agency, as_of=as_of)
        return [OverdueReferral(**Referral.of(o.row).model_dump(), days_waiting=o.days_waiting, waiting_for=o.waiting_for) for o in found]

    @referrals.get("/referrals/{referral_id}", response_model=Referral, summary="One referral")
    async def get_referral(referral_id: UUID, principal: Principal = anyone) -> Referral:
        async with runtime.pool.acquire() as conn:
            return Referral.of(await views.referral(conn, _reader(principal), referral_id))

    @referrals.post("/referrals", status_code=201, response_model=Referral, summary="Refer a business by hand (staff)")
    async def refer(
        request: Request, body: ReferIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        cmd = ReferByHand(body.business_id, body.agency, body.program, body.reason, body.referred_on, by=principal.name)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 201, _json(await handlers.refer_by_hand(uow, deps, cmd))

        status, payload = await runtime.command(
            run, request=request, principal=principal, idempotency_key=idempotency_key, request_body=body.model_dump(mode="json")
        )
        return JSONResponse(payload, status_code=status, headers={"Location": f"/referrals/{payload['id']}"})

    async def answer(request: Request, principal: Principal, idempotency_key: str | None, body: BaseModel,
                     cmd: Acknowledge | RecordOutcome, handle: Callable[..., Awaitable[asyncpg.Record]]) -> JSONResponse:
        """An agency's answer to a referral: one command, once per Idempotency-Key."""

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _json(await handle(uow, deps, cmd))

        status, payload = await runtime.command(
            run, request=request, principal=principal, idempotency_key=idempotency_key,
            request_body={"referral_id": str(cmd.referral_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    @agency_api.post("/referrals/{referral_id}/acknowledge", response_model=Referral, responses=own_only,
                     summary="The agency received the referral (emits ReferralAcknowledged); repeating it is a no-op")
    async def acknowledge(
        request: Request, referral_id: UUID, body: AcknowledgeIn, principal: Principal = agency_only,
        idempotency_key: str | None = IdempotencyKey,
    ) -> JSONResponse:
        cmd = Acknowledge(referral_id, principal.agency, body.agency_reference)
        return await answer(request, principal, idempotency_key, body, cmd, handlers.acknowledge)

    @agency_api.post("/referrals/{referral_id}/outcome", response_model=Referral, responses=own_only,
                     summary="The agency's outcome (emits ReferralCompleted); the same outcome again is a no-op, another is 409")
    async def outcome(
        request: Request, referral_id: UUID, body: OutcomeIn, principal: Principal = agency_only,
        idempotency_key: str | None = IdempotencyKey,
    ) -> JSONResponse:
        cmd = RecordOutcome(referral_id, principal.agency, body.outcome, body.amount_krw, body.note, body.completed_on)
        return await answer(request, principal, idempotency_key, body, cmd, handlers.complete)

    return [agencies, referrals, agency_api]
