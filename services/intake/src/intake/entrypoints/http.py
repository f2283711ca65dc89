"""Thin HTTP routes: parse, authorise, turn the body into a command, run it in one unit of
work (once per Idempotency-Key), answer.

Domain errors raised by the service layer become problem+json in one place
(sangsaeng_common.http.install_problem_handlers); 401/403 come from `require(...)`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from intake.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from intake.domain.search import BusinessSearch
from intake.entrypoints.schemas import (
    Business,
    BusinessIn,
    BusinessPage,
    BusinessPatchIn,
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
    SupportStepOut,
    AssignIn,
    StartIn,
    ResolveIn,
    CloseIn,
    TimelineEntry,
    TimelinePage,
)
from intake.service_layer import commands, handlers, reads
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.intake import Stage
from intake.domain.support import SupportStatus
from sangsaeng_common.contracts.common import Need
from sangsaeng_common.errors import Conflict, invalid
from sangsaeng_common.http import Principal, Problem, problem_of, require
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
    412: "If-Match names another version than the current one",
    422: "invalid input; `errors[].field` names the field",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI description of the problem+json answers a route can give."""
    return {code: {"model": ProblemOut, "description": _PROBLEMS[code]} for code in (401, 403, *codes)}


def _version_of(if_match: str | None) -> int | None:
    """The version an If-Match names (`"3"`, `W/"3"`); `*` or none: no precondition."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise invalid("If-Match", 'names an ETag this API gave, e.g. "3"')
    return int(tag)


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


def routes(runtime: Runtime, *, clock: SeoulClock) -> list[APIRouter]:
    businesses = APIRouter(tags=["businesses"])
    people = APIRouter(tags=["owners and consent"])
    support = APIRouter(tags=["support requests"])
    history = APIRouter(tags=["timeline"])
    writers = require("staff", "planner")
    readers = require("staff", "planner", "loan_officer", "auditor")
    staff_only = require("staff")

    # ------------------------------------------------------------ businesses

    @businesses.post("/businesses", status_code=201, response_model=Business, summary="Register a business", responses=problems(409, 422))
    async def register_business(
        body: BusinessIn, request: Request, principal: Principal = writers, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = commands.RegisterBusiness(**body.model_dump())

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.register_business(uow, command)
            return 201, Business.model_validate(dict(row)).model_dump(mode="json")

        try:
            status, payload = await runtime.command(
                run, request=request, principal=principal, idempotency_key=idempotency_key, request_body=body.model_dump(mode="json"),
                one_statement=True,
            )
        except Conflict as conflict:
            # The 409 points at the business already registered under that number.
            problem = problem_of(conflict)
            problem.headers = {"Location": f"/businesses/{conflict.extensions['existing_id']}"}
            raise problem from None
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
        search = BusinessSearch(dong, stage, industry, q, registration_number, limit, cursor)
        rows, next_cursor = await reads.search_businesses(runtime.pool, search)
        return BusinessPage(items=[Business.model_validate(dict(r)) for r in rows], next=next_cursor)

    @businesses.get("/businesses/{business_id}", response_model=Business, summary="One business", responses=problems(404))
    async def get_business(business_id: UUID, _: Principal = readers) -> JSONResponse:
        row = await reads.business(runtime.pool, business_id)
        return JSONResponse(Business.model_validate(dict(row)).model_dump(mode="json"), headers={"ETag": handlers.etag_of(row)})

    @businesses.patch(
        "/businesses/{business_id}", response_model=Business, summary="Change a business's details (staff)",
        responses=problems(404, 409, 412, 422),
        openapi_extra={"requestBody": {"content": {"application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/BusinessPatchIn"}}}}},
        description="A JSON merge patch (RFC 7396; `application/merge-patch+json` or `application/json`) of `name`, `dong`, "
        "`industry`, `employees`, `address`: only what is sent changes, `address: null` removes the address. Validated like "
        "registration; the micro-business flag is recomputed. Emits BusinessDetailsChanged (the new values, the address by "
        "name only) unless nothing changed. The answer's `ETag` is the details' version; an `If-Match` naming another "
        "answers 412 (optional: without it the last change wins).",
    )
    async def change_details(
        business_id: UUID, body: BusinessPatchIn, request: Request, principal: Principal = staff_only,
        idempotency_key: str | None = IdempotencyKey,
        if_match: Annotated[str | None, Header(description='the ETag last seen, e.g. "3"')] = None,
    ) -> JSONResponse:
        command = commands.ChangeDetails(business_id=business_id, patch=body.patch(), if_match=_version_of(if_match))

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.change_details(uow, command, clock)
            return 200, Business.model_validate(dict(row)).model_dump(mode="json")

        try:
            status, payload = await runtime.command(
                run, request=request, principal=principal, idempotency_key=idempotency_key,
                request_body={"business_id": str(business_id), "if_match": if_match, **body.model_dump(mode="json", exclude_unset=True)},
            )
        except Conflict as conflict:
            if "etag" not in conflict.extensions:
                raise
            raise Problem(412, conflict.title, conflict.detail, headers={"ETag": conflict.extensions["etag"]}) from None
        return JSONResponse(payload, status_code=status, headers={"ETag": f'"{payload["version"]}"'})

    @businesses.post(
        "/businesses/{business_id}/stage", response_model=Business, summary="Move a business to another lifecycle stage",
        responses=problems(404, 409, 422),
        description="prospective → operating → closing → closed → restarting → operating (closing → operating also). "
        "A refused move answers 409 with `current` and `allowed`.",
    )
    async def change_stage(
        business_id: UUID, body: StageChangeIn, request: Request, principal: Principal = writers,
        idempotency_key: str | None = IdempotencyKey,
    ) -> JSONResponse:
        command = commands.ChangeStage(
            business_id=business_id, stage=body.stage, reason=body.reason, changed_on=body.changed_on, reason_code=body.reason_code
        )

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.change_stage(uow, command, clock)
            return 200, Business.model_validate(dict(row)).model_dump(mode="json")

        status, payload = await runtime.command(
            run, request=request, principal=principal, idempotency_key=idempotency_key,
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
        business_id: UUID, body: OwnerIn, request: Request, principal: Principal = staff_only,
        idempotency_key: str | None = IdempotencyKey,
    ) -> JSONResponse:
        command = commands.AddOwner(
            business_id=business_id, name=body.name, relation=body.relation.value, phone=body.phone, email=body.email
        )

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.add_owner(uow, command)
            return 201, Owner.model_validate(dict(row)).model_dump(mode="json")

        status, payload = await runtime.command(
            run, request=request, principal=principal, idempotency_key=idempotency_key,
            request_body={"business_id": str(business_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    @people.get("/businesses/{business_id}/owners", response_model=list[Owner], summary="Owners and contacts (staff only)", responses=problems(404))
    async def list_owners(business_id: UUID, _: Principal = staff_only) -> list[Owner]:
        return [Owner.model_validate(dict(r)) for r in await reads.owners(runtime.pool, business_id)]

    @people.post(
        "/businesses/{business_id}/consents", status_code=201, response_model=Consent,
        summary="Record consent to third-party sharing (staff only)", responses=problems(404, 422),
        description="개인정보 제3자 제공 동의: the agencies the owner agrees to share personal data with. Emits ConsentGiven.",
    )
    async def give_consent(
        business_id: UUID, body: ConsentIn, request: Request, principal: Principal = staff_only,
        idempotency_key: str | None = IdempotencyKey,
    ) -> JSONResponse:
        command = commands.GiveConsent(
            business_id=business_id, agencies=tuple(body.agencies), owner_id=body.owner_id, signed_by=body.signed_by,
            given_at=body.given_at, note=body.note,
        )

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 201, _consent_view(await handlers.give_consent(uow, command, clock), principal)

        status, payload = await runtime.command(
            run, request=request, principal=principal, idempotency_key=idempotency_key,
            request_body={"business_id": str(business_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    @people.get(
        "/businesses/{business_id}/consents", response_model=ConsentList, summary="Consents of a business, newest first",
        responses=problems(404), description="Who signed and notes are shown to staff only.",
    )
    async def list_consents(business_id: UUID, principal: Principal = readers) -> ConsentList:
        rows = await reads.consents(runtime.pool, business_id)
        return ConsentList.model_validate({"items": [_consent_view(r, principal) for r in rows]})

    @people.post(
        "/businesses/{business_id}/consents/{consent_id}/withdraw", response_model=Consent,
        summary="Withdraw a consent (staff only)", responses=problems(404, 409, 422),
        description="Emits ConsentWithdrawn for all the consent's agencies; a consent is withdrawn once (409 after).",
    )
    async def withdraw_consent(
        business_id: UUID, consent_id: UUID, body: ConsentWithdrawalIn, request: Request, principal: Principal = staff_only,
        idempotency_key: str | None = IdempotencyKey,
    ) -> JSONResponse:
        command = commands.WithdrawConsent(business_id=business_id, consent_id=consent_id, withdrawn_at=body.withdrawn_at, note=body.note)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _consent_view(await handlers.withdraw_consent(uow, command, clock), principal)

        status, payload = await runtime.command(
            run, request=request, principal=principal, idempotency_key=idempotency_key,
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
        business_id: UUID, request: Request, body: ErasureIn | None = None, principal: Principal = staff_only,
        idempotency_key: str | None = IdempotencyKey,
    ) -> JSONResponse:
        body = body or ErasureIn()
        command = commands.ErasePersonalData(business_id=business_id, requested_on=body.requested_on, recorded_by=principal.name)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            erasure = await handlers.erase_personal_data(uow, command, clock)
            return 200, Erasure.model_validate(erasure).model_dump(mode="json")

        status, payload = await runtime.command(
            run, request=request, principal=principal, idempotency_key=idempotency_key,
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
        body: SupportRequestIn, request: Request, principal: Principal = writers, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = commands.RequestSupport(
            business_id=body.business_id, needs=tuple(body.needs), channel=body.channel, requested_on=body.requested_on,
            visit_id=body.visit_id, note=body.note,
        )

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 201, _support_view(await handlers.request_support(uow, command, clock), principal)

        status, payload = await runtime.command(
            run, request=request, principal=principal, idempotency_key=idempotency_key, request_body=body.model_dump(mode="json")
        )
        return JSONResponse(payload, status_code=status, headers={"Location": f"/support-requests/{payload['id']}"})

    @support.get(
        "/support-requests", response_model=SupportRequestPage, summary="Support requests, newest first", responses=problems(422),
        description="The desk's queues: a person's (`assignee=S-1001&status=assigned`), a need's (`need=loan`), a business's. "
        "Filters combine (AND); pass `next` back as `cursor`.",
    )
    async def list_support_requests(
        principal: Principal = readers,
        business_id: UUID | None = None,
        assignee: Annotated[str | None, Query(max_length=64, description="a staff subject id, e.g. S-1001")] = None,
        status: SupportStatus | None = None,
        need: Need | None = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> SupportRequestPage:
        rows, next_cursor = await reads.support_requests(
            runtime.pool, business_id=business_id, assignee=assignee, status=status, need=need, limit=limit, cursor=cursor
        )
        return SupportRequestPage.model_validate({"items": [_support_view(r, principal) for r in rows], "next": next_cursor})

    @support.get("/support-requests/{request_id}", response_model=SupportRequest, summary="One support request", responses=problems(404))
    async def get_support_request(request_id: UUID, principal: Principal = readers) -> SupportRequest:
        return SupportRequest.model_validate(_support_view(await reads.support_request(runtime.pool, request_id), principal))

    @support.get(
        "/support-requests/{request_id}/steps", response_model=list[SupportStepOut], summary="A support request's steps, oldest first",
        responses=problems(404),
    )
    async def support_request_steps(request_id: UUID, principal: Principal = readers) -> list[SupportStepOut]:
        personal = principal.role in ("staff", "planner")
        return [
            SupportStepOut.model_validate({**dict(r), "note": r["note"] if personal else None})
            for r in await reads.support_steps(runtime.pool, request_id)
        ]

    async def support_step(request_id: UUID, body: Any, request: Request, principal: Principal, idempotency_key: str | None,
                           take: Callable[[UnitOfWork], Awaitable[Any]]) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _support_view(await take(uow), principal)

        status, payload = await runtime.command(
            run, request=request, principal=principal, idempotency_key=idempotency_key,
            request_body={"request_id": str(request_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    step_problems = problems(404, 409, 422)

    @support.post(
        "/support-requests/{request_id}/assign", response_model=SupportRequest, summary="Assign or reassign a support request (staff)",
        responses=step_problems, description="open / assigned / in_progress → assigned (emits SupportRequestAssigned; the same "
        "assignee again changes nothing). A step the status does not allow answers 409 naming `current` and `allowed`.",
    )
    async def assign_support_request(
        request_id: UUID, body: AssignIn, request: Request, principal: Principal = staff_only, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = commands.AssignSupportRequest(request_id=request_id, assignee=body.assignee, note=body.note)
        return await support_step(request_id, body, request, principal, idempotency_key,
                                  lambda uow: handlers.assign_support_request(uow, command, clock))

    @support.post(
        "/support-requests/{request_id}/start", response_model=SupportRequest, summary="Start work on a support request (staff)",
        responses=step_problems, description="assigned → in_progress (emits SupportRequestStarted).",
    )
    async def start_support_request(
        request_id: UUID, request: Request, body: StartIn | None = None, principal: Principal = staff_only,
        idempotency_key: str | None = IdempotencyKey,
    ) -> JSONResponse:
        body = body or StartIn()
        command = commands.StartSupportRequest(request_id=request_id, note=body.note)
        return await support_step(request_id, body, request, principal, idempotency_key,
                                  lambda uow: handlers.start_support_request(uow, command, clock))

    @support.post(
        "/support-requests/{request_id}/resolve", response_model=SupportRequest, summary="Resolve a support request (staff)",
        responses=step_problems, description="in_progress → resolved with an outcome: `advised`, `referred`, `loan_drafted`, "
        "`visit_scheduled` (emits SupportRequestResolved).",
    )
    async def resolve_support_request(
        request_id: UUID, body: ResolveIn, request: Request, principal: Principal = staff_only, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = commands.ResolveSupportRequest(request_id=request_id, outcome=body.outcome, note=body.note)
        return await support_step(request_id, body, request, principal, idempotency_key,
                                  lambda uow: handlers.resolve_support_request(uow, command, clock))

    @support.post(
        "/support-requests/{request_id}/close", response_model=SupportRequest, summary="Close a support request unresolved (staff)",
        responses=step_problems, description="open / assigned / in_progress → closed with an outcome: `withdrawn_by_owner`, "
        "`unreachable`, `duplicate`, `out_of_scope` (emits SupportRequestClosed).",
    )
    async def close_support_request(
        request_id: UUID, body: CloseIn, request: Request, principal: Principal = staff_only, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = commands.CloseSupportRequest(request_id=request_id, outcome=body.outcome, note=body.note)
        return await support_step(request_id, body, request, principal, idempotency_key,
                                  lambda uow: handlers.close_support_request(uow, command, clock))

    # ------------------------------------------------------------ timeline

    @history.get(
        "/businesses/{business_id}/timeline", response_model=TimelinePage, summary="Everything that happened to a business, newest first",
        responses=problems(404, 422),
        description="Built from the events of every service's topic (intake, visits, and others as they start publishing).",
    )
    async def get_timeline(business_id: UUID, _: Principal = readers, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> TimelinePage:
        rows, next_cursor = await reads.timeline(runtime.pool, business_id, limit=limit, cursor=cursor)
        items = [
            TimelineEntry(event_id=r["event_id"], type=r["event_type"], source=r["source"], time=r["occurred_at"], summary=r["summary"], data=r["data"])
            for r in rows
        ]
        return TimelinePage(business_id=business_id, items=items, next=next_cursor)

    return [businesses, people, support, history]
