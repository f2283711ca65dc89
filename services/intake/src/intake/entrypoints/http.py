"""Thin HTTP routes: parse, authorise, run one handler in one unit of work, answer."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from intake import handlers, queries
from intake.domain import registration
from intake.domain.business import DONGS, FORMER_DONGS
from intake.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT, InvalidCursor
from intake.models import (
    Business,
    BusinessIn,
    BusinessPage,
    Consent,
    ConsentIn,
    ConsentList,
    ConsentWithdrawalIn,
    Erasure,
    ErasureIn,
    Owner,
    OwnerIn,
    ProblemOut,
    StageChangeIn,
    SupportRequest,
    SupportRequestIn,
    SupportRequestPage,
    TimelineEntry,
    TimelinePage,
)
from sangsaeng_common.contracts.intake import Stage
from sangsaeng_common.http import Principal, Problem, require
from sangsaeng_common.idempotency import IdempotencyKey
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.unit_of_work import UnitOfWork

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Cursor = Annotated[str | None, Query(description="`next` of the previous page")]

_PROBLEMS = {
    401: "no or unknown bearer token",
    403: "the caller's role may not do this",
    404: "no such business (or consent)",
    409: "conflicts with the current state",
    422: "invalid input; `errors[].field` names the field",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI description of the problem+json answers a route can give."""
    return {code: {"model": ProblemOut, "description": _PROBLEMS[code]} for code in (401, 403, *codes)}


def _consent_view(row: Any, principal: Principal) -> dict[str, Any]:
    personal = principal.role == "staff"
    return Consent(
        id=row["id"], business_id=row["business_id"], agencies=row["agencies"], given_at=row["given_at"],
        withdrawn_at=row["withdrawn_at"], active=row["withdrawn_at"] is None,
        owner_id=row["owner_id"] if personal else None, signed_by=row["signed_by"] if personal else None,
        note=row["note"] if personal else None, withdrawal_note=row["withdrawal_note"] if personal else None,
    ).model_dump(mode="json")


def _support_view(row: Any, principal: Principal) -> dict[str, Any]:
    view = SupportRequest.model_validate(dict(row))
    if principal.role not in ("staff", "planner"):
        view = view.model_copy(update={"note": None})
    return view.model_dump(mode="json")


def routes(runtime: Runtime) -> list[APIRouter]:
    businesses = APIRouter(tags=["businesses"])
    people = APIRouter(tags=["owners and consent"])
    support = APIRouter(tags=["support requests"])
    history = APIRouter(tags=["timeline"])
    writers = require("staff", "planner")
    readers = require("staff", "planner", "loan_officer", "auditor")
    staff_only = require("staff")


    async def business_exists(business_id: UUID) -> None:
        if not await runtime.pool.fetchval("select true from businesses where id = $1", business_id):
            raise Problem(404, "Business not found", f"no business {business_id}")

    # ------------------------------------------------------------ businesses

    @businesses.post("/businesses", status_code=201, response_model=Business, summary="Register a business", responses=problems(409, 422))
    async def register_business(
        body: BusinessIn, principal: Principal = writers, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.register_business(uow, body)
            return 201, Business.model_validate(dict(row)).model_dump(mode="json")

        status, payload = await runtime.command(run, scope="POST /businesses", principal=principal, idempotency_key=idempotency_key, request_body=body.model_dump(mode="json"))
        return JSONResponse(payload, status_code=status, headers={"Location": f"/businesses/{payload['id']}"})

    @businesses.get(
        "/businesses", response_model=BusinessPage, summary="Search and list businesses, newest first", responses=problems(422),
        description="Filters combine (AND). `q` finds a substring of the trade name, ignoring spaces and case "
        "(`바른 분식` finds `동대문 바른분식`). Pages are keyset-paginated: pass `next` back as `cursor`.",
    )
    async def list_businesses(
        _: Principal = readers,
        dong: Annotated[str | None, Query(description="administrative dong, e.g. 제기동")] = None,
        stage: Stage | None = None,
        industry: Annotated[str | None, Query(description="exact industry, e.g. 음식점업")] = None,
        q: Annotated[str | None, Query(max_length=100, description="part of the trade name (Korean or Latin)")] = None,
        registration_number: Annotated[str | None, Query(description="XXX-XX-XXXXX or 10 digits")] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> BusinessPage:
        handlers.refuse_resident_numbers({"q": q, "industry": industry})
        if dong is not None and dong not in DONGS and dong not in FORMER_DONGS:
            raise Problem.invalid("dong", f"not an administrative dong of Dongdaemun-gu; one of: {', '.join(DONGS)}")
        if registration_number is not None:
            try:
                registration_number = registration.normalize(registration_number)
            except registration.InvalidRegistrationNumber as exc:
                raise Problem.invalid("registration_number", str(exc)) from None
        try:
            rows, next_cursor = await queries.search_businesses(
                runtime.pool, dong=dong, stage=stage, industry=industry, q=q,
                registration_number=registration_number, limit=limit, cursor=cursor,
            )
        except InvalidCursor as exc:
            raise Problem.invalid("cursor", str(exc)) from None
        return BusinessPage(items=[Business.model_validate(dict(r)) for r in rows], next=next_cursor)

    @businesses.get("/businesses/{business_id}", response_model=Business, summary="One business", responses=problems(404))
    async def get_business(business_id: UUID, _: Principal = readers) -> Business:
        row = await runtime.pool.fetchrow("select * from businesses where id = $1", business_id)
        if row is None:
            raise Problem(404, "Business not found", f"no business {business_id}")
        return Business.model_validate(dict(row))

    @businesses.post(
        "/businesses/{business_id}/stage", response_model=Business, summary="Move a business to another lifecycle stage",
        responses=problems(404, 409, 422),
        description="prospective → operating → closing → closed → restarting → operating (closing → operating also). "
        "A refused move answers 409 with `current` and `allowed`.",
    )
    async def change_stage(
        business_id: UUID, body: StageChangeIn, principal: Principal = writers, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.change_stage(uow, business_id, body)
            return 200, Business.model_validate(dict(row)).model_dump(mode="json")

        status, payload = await runtime.command(
            run, scope="POST /businesses/{id}/stage", principal=principal, idempotency_key=idempotency_key,
            request_body={"business_id": str(business_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    # ------------------------------------------------------------ owners, consent, erasure

    @people.post(
        "/businesses/{business_id}/owners", status_code=201, response_model=Owner, summary="Add an owner or contact (staff only)",
        responses=problems(404, 422), description="Personal data: kept only in intake's schema, never in an event. "
        "Input holding a resident registration number is refused.",
    )
    async def add_owner(
        business_id: UUID, body: OwnerIn, principal: Principal = staff_only, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.add_owner(uow, business_id, body)
            return 201, Owner.model_validate(dict(row)).model_dump(mode="json")

        status, payload = await runtime.command(
            run, scope="POST /businesses/{id}/owners", principal=principal, idempotency_key=idempotency_key,
            request_body={"business_id": str(business_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    @people.get("/businesses/{business_id}/owners", response_model=list[Owner], summary="Owners and contacts (staff only)", responses=problems(404))
    async def list_owners(business_id: UUID, _: Principal = staff_only) -> list[Owner]:
        await business_exists(business_id)
        rows = await runtime.pool.fetch("select * from owners where business_id = $1 order by id", business_id)
        return [Owner.model_validate(dict(r)) for r in rows]

    @people.post(
        "/businesses/{business_id}/consents", status_code=201, response_model=Consent,
        summary="Record consent to third-party sharing (staff only)", responses=problems(404, 422),
        description="개인정보 제3자 제공 동의: the agencies the owner agrees to share personal data with. Emits ConsentGiven.",
    )
    async def give_consent(
        business_id: UUID, body: ConsentIn, principal: Principal = staff_only, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 201, _consent_view(await handlers.give_consent(uow, business_id, body), principal)

        status, payload = await runtime.command(
            run, scope="POST /businesses/{id}/consents", principal=principal, idempotency_key=idempotency_key,
            request_body={"business_id": str(business_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    @people.get(
        "/businesses/{business_id}/consents", response_model=ConsentList, summary="Consents of a business, newest first",
        responses=problems(404), description="Who signed and notes are shown to staff only.",
    )
    async def list_consents(business_id: UUID, principal: Principal = readers) -> ConsentList:
        await business_exists(business_id)
        rows = await runtime.pool.fetch("select * from consents where business_id = $1 order by given_at desc, id desc", business_id)
        return ConsentList.model_validate({"items": [_consent_view(r, principal) for r in rows]})

    @people.post(
        "/businesses/{business_id}/consents/{consent_id}/withdraw", response_model=Consent,
        summary="Withdraw a consent (staff only)", responses=problems(404, 409, 422),
        description="Emits ConsentWithdrawn for all the consent's agencies; a consent is withdrawn once (409 after).",
    )
    async def withdraw_consent(
        business_id: UUID, consent_id: UUID, body: ConsentWithdrawalIn, principal: Principal = staff_only,
        idempotency_key: str | None = IdempotencyKey,
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _consent_view(await handlers.withdraw_consent(uow, business_id, consent_id, body), principal)

        status, payload = await runtime.command(
            run, scope="POST /businesses/{id}/consents/{consent_id}/withdraw", principal=principal, idempotency_key=idempotency_key,
            request_body={"business_id": str(business_id), "consent_id": str(consent_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    @people.post(
        "/businesses/{business_id}/erasure", response_model=Erasure, summary="Erase the owner's personal data (staff only)",
        responses=problems(404, 422),
        description="Deletes owners and contacts, the personal details of consents (their ids, agencies and times stay "
        "for audit), support-request notes and the free text of the timeline; emits BusinessErased so that every "
        "other service removes or anonymises what it holds. The business itself stays.",
    )
    async def erase(
        business_id: UUID, body: ErasureIn | None = None, principal: Principal = staff_only,
        idempotency_key: str | None = IdempotencyKey,
    ) -> JSONResponse:
        body = body or ErasureIn()

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            erasure = await handlers.erase_personal_data(uow, business_id, body, principal.name)
            return 200, Erasure.model_validate(erasure).model_dump(mode="json")

        status, payload = await runtime.command(
            run, scope="POST /businesses/{id}/erasure", principal=principal, idempotency_key=idempotency_key,
            request_body={"business_id": str(business_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    # ------------------------------------------------------------ support requests

    @support.post(
        "/support-requests", status_code=201, response_model=SupportRequest, summary="Record a support request",
        responses=problems(422), description="Walk-in, phone, online or during a visit; emits SupportRequested "
        "(the note stays in intake).",
    )
    async def request_support(
        body: SupportRequestIn, principal: Principal = writers, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 201, _support_view(await handlers.request_support(uow, body), principal)

        status, payload = await runtime.command(run, scope="POST /support-requests", principal=principal, idempotency_key=idempotency_key, request_body=body.model_dump(mode="json"))
        return JSONResponse(payload, status_code=status, headers={"Location": f"/support-requests/{payload['id']}"})

    @support.get("/support-requests", response_model=SupportRequestPage, summary="Support requests, newest first", responses=problems(422))
    async def list_support_requests(
        principal: Principal = readers, business_id: UUID | None = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> SupportRequestPage:
        try:
            rows, next_cursor = await queries.support_requests(runtime.pool, business_id=business_id, limit=limit, cursor=cursor)
        except InvalidCursor as exc:
            raise Problem.invalid("cursor", str(exc)) from None
        return SupportRequestPage.model_validate({"items": [_support_view(r, principal) for r in rows], "next": next_cursor})

    @support.get("/support-requests/{request_id}", response_model=SupportRequest, summary="One support request", responses=problems(404))
    async def get_support_request(request_id: UUID, principal: Principal = readers) -> SupportRequest:
        row = await runtime.pool.fetchrow("select * from support_requests where id = $1", request_id)
        if row is None:
            raise Problem(404, "Support request not found", f"no support request {request_id}")
        return SupportRequest.model_validate(_support_view(row, principal))

    # ------------------------------------------------------------ timeline

    @history.get(
        "/businesses/{business_id}/timeline", response_model=TimelinePage, summary="Everything that happened to a business, newest first",
        responses=problems(404, 422),
        description="Built from the events of every service's topic (intake, visits, and others as they start publishing).",
    )
    async def get_timeline(business_id: UUID, _: Principal = readers, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> TimelinePage:
        await business_exists(business_id)
        try:
            rows, next_cursor = await queries.timeline(runtime.pool, business_id, limit=limit, cursor=cursor)
        except InvalidCursor as exc:
            raise Problem.invalid("cursor", str(exc)) from None
        items = [
            TimelineEntry(event_id=r["event_id"], type=r["event_type"], source=r["source"], time=r["occurred_at"], summary=r["summary"], data=r["data"])
            for r in rows
        ]
        return TimelinePage(business_id=business_id, items=items, next=next_cursor)

    return [businesses, people, support, history]
