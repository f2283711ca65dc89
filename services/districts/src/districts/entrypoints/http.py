"""Districts' thin HTTP routes: districts and their stores, the lifecycle commands, contests.

Domain errors become problem+json in one place (sangsaeng_common.http.install_problem_handlers);
a refused designation or contest entry is a 409 whose `failed_rules` names each rule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from sangsaeng_common.http import Principal, require
from sangsaeng_common.idempotency import IdempotencyKey
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.unit_of_work import UnitOfWork
from districts.adapters import queries
from districts.domain.district import State
from districts.entrypoints import schemas as s
from districts.service_layer import commands as cmds
from districts.service_layer import handlers, views
from districts.service_layer.handlers import Deps

READERS = ("staff", "planner", "auditor")


def routes(deps: Deps) -> Callable[[Runtime], list[APIRouter]]:
    def build(runtime: Runtime) -> list[APIRouter]:
        return _routes(runtime, deps)

    return build


def _district(view: views.DistrictView) -> dict[str, Any]:
    row = view.row
    rep = view.representative
    body = s.of(
        s.District, row,
        members=len(view.members), counted_stores=len(view.standing.counted_business_ids),
        onnuri_merchants=sum(1 for m in view.members if m["onnuri_merchant"]),
        rules=[s.CheckOut(rule=c.rule.code, name=c.rule.name, stores_per_area=c.rule.stores, per_area_m2=c.rule.per_area_m2,
                          required_stores=c.required_stores, met=c.met) for c in view.standing.checks],
        representative=s.Representative(name=rep["name"], phone=rep["phone"]) if rep else None,
    )
    return body.model_dump(mode="json")


def _store(row: Any) -> dict[str, Any]:
    stage = row["stage"] if "stage" in row.keys() else None
    extra = {"counts": views.counts(row)} if "stage" in row.keys() else {}
    return s.of(s.Store, row, stage=stage, **extra).model_dump(mode="json")


def _routes(runtime: Runtime, deps: Deps) -> list[APIRouter]:
    districts = APIRouter(tags=["districts"])
    contests = APIRouter(tags=["contests"])
    readers = require(*READERS)
    staff = require("staff")

    async def command(request: Request, principal: Principal, key: str | None, body: dict[str, Any],
                      run: Callable[[UnitOfWork], Awaitable[tuple[int, dict]]], location: Callable[[dict], str] | None = None) -> JSONResponse:
        status, payload = await runtime.command(run, request=request, principal=principal, idempotency_key=key, request_body=body)
        headers = {"Location": location(payload)} if location and status == 201 else None
        return JSONResponse(payload, status_code=status, headers=headers)

    async def district_json(uow: UnitOfWork, district_id: UUID) -> dict[str, Any]:
        return _district(await views.district(uow.conn, deps, district_id, with_personal_data=True))

    # ------------------------------------------------------------ districts

    @districts.get("/districts", response_model=list[s.District], summary="Districts with their counts against the rules")
    async def list_districts(
        principal: Principal = readers, state: State | None = None, dong: str | None = None, limit: int = Query(100, ge=1, le=500),
    ) -> list[dict]:
        async with runtime.pool.acquire() as conn:
            found = await views.districts(conn, deps, state=state.value if state else None, dong=dong, limit=limit,
                                          with_personal_data=principal.role == "staff")
        return [_district(v) for v in found]

    @districts.get("/districts/{district_id}", response_model=s.District, summary="One district (staff also see the representative)")
    async def get_district(district_id: UUID, principal: Principal = readers) -> dict:
        async with runtime.pool.acquire() as conn:
            return _district(await views.district(conn, deps, district_id, with_personal_data=principal.role == "staff"))

    @districts.post("/districts", status_code=201, response_model=s.District, summary="Propose a district (emits DistrictProposed)")
    async def propose(request: Request, body: s.DistrictIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        cmd = cmds.ProposeDistrict(body.name, body.dongs, body.association, body.representative.name, body.representative.phone,
                                   body.boundary, body.excluded_area_m2, body.proposed_on, by=principal.name)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.propose(uow, deps, cmd)
            return 201, await district_json(uow, row["id"])

        return await command(request, principal, idempotency_key, body.model_dump(mode="json"), run, lambda p: f"/districts/{p['id']}")

    @districts.get("/districts/{district_id}/stores", response_model=list[s.Store], summary="Member stores (and whether each counts)")
    async def stores(district_id: UUID, _: Principal = readers) -> list[dict]:
        async with runtime.pool.acquire() as conn:
            view = await views.district(conn, deps, district_id, with_personal_data=False)
        return [_store(m) for m in view.members]

    @districts.post("/districts/{district_id}/stores", status_code=201, response_model=s.Store,
                    summary="A business joins as a member store (emits StoreJoinedDistrict); 503 if intake's event has not arrived yet")
    async def join(request: Request, district_id: UUID, body: s.StoreIn, principal: Principal = staff,
                   idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        cmd = cmds.JoinStore(district_id, body.business_id, body.longitude, body.latitude, body.onnuri_merchant, body.joined_on)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 201, _store(await handlers.join(uow, deps, cmd))

        return await command(request, principal, idempotency_key, {"district_id": str(district_id), **body.model_dump(mode="json")}, run)

    @districts.post("/districts/{district_id}/stores/{business_id}/leave", response_model=s.Store,
                    summary="A member store leaves (emits StoreLeftDistrict; a designated district falling below the rule goes under review)")
    async def leave(request: Request, district_id: UUID, business_id: UUID, body: s.LeaveIn, principal: Principal = staff,
                    idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        cmd = cmds.LeaveStore(district_id, business_id, body.reason, body.left_on, reason_code=body.reason_code)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _store(await handlers.leave(uow, deps, cmd))

        return await command(request, principal, idempotency_key,
                             {"district_id": str(district_id), "business_id": str(business_id), **body.model_dump(mode="json")}, run)

    @districts.put("/districts/{district_id}/stores/{business_id}/onnuri", response_model=s.Store,
                   summary="A member store's 온누리상품권 merchant status")
    async def onnuri(request: Request, district_id: UUID, business_id: UUID, body: s.OnnuriIn, principal: Principal = staff,
                     idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        cmd = cmds.SetOnnuri(district_id, business_id, body.onnuri_merchant)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, _store(await handlers.set_onnuri(uow, deps, cmd))

        return await command(request, principal, idempotency_key,
                             {"district_id": str(district_id), "business_id": str(business_id), **body.model_dump(mode="json")}, run)

    async def lifecycle(request: Request, principal: Principal, key: str | None, district_id: UUID, body: Any, cmd: Any,
                        handle: Callable[..., Awaitable[Any]]) -> JSONResponse:
        """One lifecycle command on a district; the answer is the district as it is now."""

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            await handle(uow, deps, cmd)
            return 200, await district_json(uow, district_id)

        return await command(request, principal, key, {"district_id": str(district_id), **body.model_dump(mode="json")}, run)

    @districts.post("/districts/{district_id}/review", response_model=s.District,
                    summary="Open a review (proposed → under_review, or a designated one again; emits DistrictReviewOpened)")
    async def review(request: Request, district_id: UUID, body: s.DatedIn, principal: Principal = staff,
                     idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        return await lifecycle(request, principal, idempotency_key, district_id, body, cmds.OpenReview(district_id, body.on),
                               handlers.open_review)

    @districts.post("/districts/{district_id}/designate", response_model=s.District,
                    summary="Designate under the rule in force (emits DistrictDesignated); 409 names each failed rule")
    async def designate(request: Request, district_id: UUID, body: s.DatedIn, principal: Principal = staff,
                        idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        return await lifecycle(request, principal, idempotency_key, district_id, body, cmds.Designate(district_id, body.on),
                               handlers.designate)

    @districts.post("/districts/{district_id}/revoke", response_model=s.District, summary="Revoke, with reasons (emits DistrictRevoked)")
    async def revoke(request: Request, district_id: UUID, body: s.RevokeIn, principal: Principal = staff,
                     idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        return await lifecycle(request, principal, idempotency_key, district_id, body,
                               cmds.Revoke(district_id, body.reasons, body.on), handlers.revoke)

    # ------------------------------------------------------------ contests

    @contests.get("/contests", response_model=list[s.Contest], summary="Public contests (공모사업) and their calls")
    async def list_contests(_: Principal = readers, limit: int = Query(100, ge=1, le=500)) -> list[dict]:
        async with runtime.pool.acquire() as conn:
            return [s.of(s.Contest, row).model_dump(mode="json") for row in await queries.contests(conn, limit)]

    @contests.post("/contests", status_code=201, response_model=s.Contest, summary="Record a contest's call (organiser, eligibility, budget, deadline)")
    async def call(request: Request, body: s.ContestIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        cmd = cmds.CallContest(body.organiser, body.title, body.eligibility, body.budget_krw, body.opens_on, body.deadline)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 201, s.of(s.Contest, await handlers.call_contest(uow, deps, cmd)).model_dump(mode="json")

        return await command(request, principal, idempotency_key, body.model_dump(mode="json"), run, lambda p: f"/contests/{p['id']}")

    @contests.get("/contests/{contest_id}/entries", response_model=list[s.Entry], summary="A contest's entries and results")
    async def entries(contest_id: UUID, _: Principal = readers) -> list[dict]:
        async with runtime.pool.acquire() as conn:
            return [s.of(s.Entry, row).model_dump(mode="json") for row in await queries.entries(conn, contest_id=contest_id, district_id=None)]

    @contests.post("/contests/{contest_id}/entries", status_code=201, response_model=s.Entry,
                   summary="A district enters with the center's help (emits ContestEntered); 409 names the rule an entry breaks")
    async def enter(request: Request, contest_id: UUID, body: s.EntryIn, principal: Principal = staff,
                    idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        cmd = cmds.EnterContest(contest_id, body.district_id, body.requested_krw, body.entered_on, by=principal.name)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 201, s.of(s.Entry, await handlers.enter_contest(uow, deps, cmd)).model_dump(mode="json")

        return await command(request, principal, idempotency_key, {"contest_id": str(contest_id), **body.model_dump(mode="json")}, run)

    @contests.post("/contests/{contest_id}/entries/{entry_id}/result", response_model=s.Entry,
                   summary="The organiser's result (emits ContestResultAnnounced); never over the call's budget")
    async def result(request: Request, contest_id: UUID, entry_id: UUID, body: s.ResultIn, principal: Principal = staff,
                     idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        cmd = cmds.AnnounceResult(contest_id, entry_id, body.selected, body.awarded_krw, body.announced_on)

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            return 200, s.of(s.Entry, await handlers.announce_result(uow, deps, cmd)).model_dump(mode="json")

        return await command(request, principal, idempotency_key,
                             {"contest_id": str(contest_id), "entry_id": str(entry_id), **body.model_dump(mode="json")}, run)

    return [districts, contests]
