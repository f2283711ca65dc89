"""Referrals' thin HTTP routes: agencies, referrals, and the agency API.

An agency's token (role `agency:<CODE>`) sees and answers only its own referrals, and only
those sent to it: another agency's referral answers 404, exactly like one that does not exist."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.referrals import agency_topic
from sangsaeng_common.http import Principal, Problem, require
from sangsaeng_common.idempotency import IdempotencyKey
from sangsaeng_common.pii import contains_resident_number
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.unit_of_work import UnitOfWork
from referrals import handlers
from referrals.config import policy
from referrals.domain import referral as r
from referrals.models import AcknowledgeIn, AgencyOut, OutcomeIn, OverdueReferral, ReferIn, Referral

STAFF_READERS = ("staff", "planner", "loan_officer", "auditor")


def _json(row) -> dict:
    return Referral.of(row).model_dump(mode="json")


def routes(runtime: Runtime) -> list[APIRouter]:
    agencies = APIRouter(tags=["agencies"])
    referrals = APIRouter(tags=["referrals"])
    agency_api = APIRouter(tags=["agency API"])
    anyone = require(*STAFF_READERS, "agency")
    staff = require("staff")
    agency_only = require("agency")

    @agencies.get("/agencies", response_model=list[AgencyOut], summary="Partner agencies, their programs, consent rules and topics")
    async def list_agencies(_: Principal = anyone) -> list[AgencyOut]:
        return [AgencyOut.of(a, agency_topic(a.code)) for a in policy().agencies.values()]

    def _agency_filter(principal: Principal, agency: AgencyCode | None) -> str | None:
        if principal.role != "agency":
            return agency.value if agency else None
        if agency is not None and agency.value != principal.agency:
            raise Problem(403, "Forbidden", f"agency {principal.agency} may read only its own referrals")
        return principal.agency

    @referrals.get("/referrals", response_model=list[Referral], summary="Referrals (an agency sees only those sent to it)")
    async def list_referrals(
        principal: Principal = anyone,
        business_id: UUID | None = None,
        agency: AgencyCode | None = None,
        state: Literal["held", "sent", "acknowledged", "completed", "cancelled"] | None = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[Referral]:
        agency_code = _agency_filter(principal, agency)
        visible = [s.value for s in r.VISIBLE_TO_AGENCY] if principal.role == "agency" else None
        async with runtime.pool.acquire() as conn:
            rows = await conn.fetch(
                """select * from referrals
                   where ($1::uuid is null or business_id = $1) and ($2::text is null or agency = $2)
                     and ($3::text is null or state = $3) and ($4::text[] is null or state = any($4::text[]))
                   order by created_at, id limit $5""",
                business_id, agency_code, state, visible, limit,
            )
        return [Referral.of(row) for row in rows]

    @referrals.get("/referrals/overdue", response_model=list[OverdueReferral],
                   summary="Sent referrals with no outcome after REFERRAL_OVERDUE_DAYS")
    async def overdue(
        principal: Principal = anyone,
        agency: AgencyCode | None = None,
        as_of: date | None = Query(None, description="default today (Seoul)"),
    ) -> list[OverdueReferral]:
        agency_code = _agency_filter(principal, agency)
        as_of = as_of or handlers.today_in_seoul()
        days = policy().overdue_days
        async with runtime.pool.acquire() as conn:
            rows = await conn.fetch(
                """select * from referrals where state in ('sent', 'acknowledged') and ($1::text is null or agency = $1)
                     and sent_on < $2::date - $3::int order by sent_on, id""",
                agency_code, as_of, days,
            )
        return [
            OverdueReferral(**Referral.of(row).model_dump(), days_waiting=(as_of - row["sent_on"]).days,
                            waiting_for="acknowledgement" if row["state"] == "sent" else "outcome")
            for row in rows
            if r.is_overdue(r.State(row["state"]), row["sent_on"], as_of, days)
        ]

    @referrals.get("/referrals/{referral_id}", response_model=Referral, summary="One referral")
    async def get_referral(referral_id: UUID, principal: Principal = anyone) -> Referral:
        async with runtime.pool.acquire() as conn:
            row = await conn.fetchrow("select * from referrals where id = $1", referral_id)
        if row is None or (principal.role == "agency" and (row["agency"] != principal.agency or row["state"] not in r.VISIBLE_TO_AGENCY)):
            raise Problem(404, "Referral not found", f"no referral {referral_id}")
        return Referral.of(row)

    @referrals.post("/referrals", status_code=201, response_model=Referral, summary="Refer a business by hand (staff)")
    async def refer(body: ReferIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        if contains_resident_number(body.reason):
            raise Problem.invalid("reason", "contains a resident registration number (주민등록번호), which is never stored")

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.refer_by_hand(uow, policy(), body.business_id, body.agency, body.program, body.reason,
                                               body.referred_on or handlers.today_in_seoul(), principal.name)
            return 201, _json(row)

        status, payload = await runtime.command(
            run, scope="POST /referrals", principal=principal, idempotency_key=idempotency_key, request_body=body.model_dump(mode="json")
        )
        return JSONResponse(payload, status_code=status, headers={"Location": f"/referrals/{payload['id']}"})

    @agency_api.post("/referrals/{referral_id}/acknowledge", response_model=Referral,
                     summary="The agency received the referral (emits ReferralAcknowledged); repeating it is a no-op")
    async def acknowledge(
        referral_id: UUID, body: AcknowledgeIn, principal: Principal = agency_only, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _json(await handlers.acknowledge(uow, referral_id, principal.agency, body.agency_reference))

        status, payload = await runtime.command(
            run, scope="POST /referrals/{id}/acknowledge", principal=principal, idempotency_key=idempotency_key,
            request_body={"referral_id": str(referral_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    @agency_api.post("/referrals/{referral_id}/outcome", response_model=Referral,
                     summary="The agency's outcome (emits ReferralCompleted); the same outcome again is a no-op, another is 409")
    async def outcome(
        referral_id: UUID, body: OutcomeIn, principal: Principal = agency_only, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        if body.note and contains_resident_number(body.note):
            raise Problem.invalid("note", "contains a resident registration number (주민등록번호), which is never stored")

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.complete(uow, referral_id, principal.agency, body.outcome, body.amount_krw, body.note,
                                          body.completed_on or handlers.today_in_seoul())
            return 200, _json(row)

        status, payload = await runtime.command(
            run, scope="POST /referrals/{id}/outcome", principal=principal, idempotency_key=idempotency_key,
            request_body={"referral_id": str(referral_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    return [agencies, referrals, agency_api]
