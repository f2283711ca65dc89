"""Visits' thin HTTP routes: parse, authorise, turn the body into a command, run its handler
in one unit of work (`runtime.command`, idempotent per Idempotency-Key), answer. Domain
errors become problem+json in one place (sangsaeng_common.http.install_problem_handlers)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sangsaeng_common import pagination
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.errors import Conflict
from sangsaeng_common.http import Principal, problem_of, require
from sangsaeng_common.idempotency import IdempotencyKey
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.unit_of_work import UnitOfWork
from visits.config import VisitPolicy
from visits.domain.authority import Caller
from visits.entrypoints.schemas import (
    MAX_FOLLOW_UPS,
    CancelIn,
    DirectoryBusiness,
    OpenFollowUp,
    PlannerIn,
    PlannerOut,
    PlannerPatch,
    ReassignIn,
    RecordIn,
    Route,
    RouteStop,
    ScheduleIn,
    TerritoryIn,
    Visit,
    VisitReport,
)
from visits.service_layer import handlers, reads, roster
from visits.service_layer.commands import (
    AddPlanner, CancelVisit, ChangePlanner, ChangeTerritory, CompleteFollowUp, ReassignVisit, RecordVisit, ScheduleVisit,
)


def _visit_json(row) -> dict:
    return Visit.of(row).model_dump(mode="json")


def _caller(principal: Principal) -> Caller:
    return Caller(principal.role, principal.planner_id)


def routes(runtime: Runtime, *, policy: VisitPolicy, clock: SeoulClock) -> list[APIRouter]:
    directory = APIRouter(tags=["directory"])
    planners = APIRouter(tags=["planners"])
    visits = APIRouter(tags=["visits"])
    reports = APIRouter(tags=["reports"])
    readers = require("staff", "planner", "auditor")
    staff = require("staff")
    # A planner acts on the visits assigned to them, staff on any planner's behalf
    # (visits.domain.authority: own_visits_only).
    recorders = require("planner", "staff")

    async def _on_visit(run, visit_id: UUID, body: BaseModel, request: Request, principal: Principal, idempotency_key: str | None) -> JSONResponse:
        """A command on one visit: its id is part of what an Idempotency-Key was given for."""
        status, payload = await runtime.command(
            run, request=request, principal=principal, idempotency_key=idempotency_key,
            request_body={"visit_id": str(visit_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    # ------------------------------------------------------------ directory

    @directory.get("/businesses/{business_id}", response_model=DirectoryBusiness, summary="A business as visits knows it")
    async def get_business(business_id: UUID, _: Principal = readers) -> DirectoryBusiness:
        async with runtime.pool.acquire() as conn:
            return DirectoryBusiness.model_validate(await reads.business(conn, business_id))

    # ------------------------------------------------------------ planners

    @planners.get("/planners", response_model=list[PlannerOut], summary="Planners: daily capacity, active, territory (the roster staff keeps)")
    async def list_planners(_: Principal = readers) -> list[PlannerOut]:
        async with runtime.pool.acquire() as conn:
            return [PlannerOut(**p) for p in await reads.planners(conn)]

    async def _on_planner(change, command, planner_id: str, body: BaseModel, request: Request, principal: Principal,
                          idempotency_key: str | None, status_code: int = 200) -> JSONResponse:
        """A roster command in one unit of work (once per Idempotency-Key), answered with the planner as it is now."""
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            await change(uow, command, today=clock.today())
            return status_code, PlannerOut(**await reads.planner(uow.conn, planner_id)).model_dump(mode="json")

        status, payload = await runtime.command(run, request=request, principal=principal, idempotency_key=idempotency_key,
                                                request_body={"planner_id": planner_id, **body.model_dump(mode="json")})
        headers = {"Location": f"/planners/{planner_id}"} if status == 201 else None
        return JSONResponse(payload, status_code=status, headers=headers)

    @planners.post("/planners", status_code=201, response_model=PlannerOut,
                   summary="Add a planner with a daily capacity and a territory (staff; emits PlannerAdded)",
                   responses={409: {"description": "there is a planner with that id (`existing_id`)"}})
    async def add_planner(body: PlannerIn, request: Request, principal: Principal = staff,
                          idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        command = AddPlanner(planner_id=body.id, name=body.name, daily_capacity=body.daily_capacity, dongs=list(body.dongs), active=body.active)
        return await _on_planner(roster.add_planner, command, body.id, body, request, principal, idempotency_key, status_code=201)

    @planners.patch("/planners/{planner_id}", response_model=PlannerOut,
                    summary="Change a planner's daily capacity or whether they take visits (staff; emits PlannerChanged; "
                            "409 if a dong would have no active planner)",
                    responses={409: {"description": "the change would leave a dong without an active planner: `rule` "
                                                    "every_dong_covered, `dongs` names them"}})
    async def change_planner(planner_id: str, body: PlannerPatch, request: Request, principal: Principal = staff,
                             idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        command = ChangePlanner(planner_id=planner_id, daily_capacity=body.daily_capacity, active=body.active)
        return await _on_planner(roster.change_planner, command, planner_id, body, request, principal, idempotency_key)

    @planners.put("/planners/{planner_id}/territory", response_model=PlannerOut,
                  summary="Give a planner a new territory (staff; emits PlannerTerritoryChanged; 409 if a dong would have no active planner)")
    async def change_territory(planner_id: str, body: TerritoryIn, request: Request, principal: Principal = staff,
                               idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        command = ChangeTerritory(planner_id=planner_id, dongs=list(body.dongs))
        return await _on_planner(roster.change_territory, command, planner_id, body, request, principal, idempotency_key)

    @planners.get("/planners/{planner_id}/route", response_model=Route, summary="A planner's visits for a day")
    async def planner_route(
        planner_id: str, day: date | None = Query(None, alias="date", description="default today (Seoul)"), _: Principal = readers
    ) -> Route:
        day = day or clock.today()
        async with runtime.pool.acquire() as conn:
            found, stops = await reads.route(conn, planner_id, day)
        return Route(planner_id=planner_id, date=day, daily_capacity=found["daily_capacity"], stops=[RouteStop(**s) for s in stops])

    @planners.get("/planners/{planner_id}/follow-ups", response_model=list[OpenFollowUp], summary="Open follow-ups of a planner's visits")
    async def planner_follow_ups(
        planner_id: str, due_before: date | None = Query(None, description="only those due before this day"), _: Principal = readers
    ) -> list[OpenFollowUp]:
        async with runtime.pool.acquire() as conn:
            rows = await reads.open_follow_ups(conn, planner_id, today=clock.today(), due_before=due_before)
        return [OpenFollowUp(**r) for r in rows]

    # ------------------------------------------------------------ visits

    @visits.post("/visits", status_code=201, response_model=Visit, summary="Schedule a visit (assigned to the least-loaded covering planner)")
    async def schedule_visit(
        body: ScheduleIn, request: Request, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = ScheduleVisit(**dict(body))

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.schedule_visit(uow, command, policy=policy, today=clock.today())
            return 201, _visit_json(row)

        try:
            status, payload = await runtime.command(
                run, request=request, principal=principal, idempotency_key=idempotency_key, request_body=body.model_dump(mode="json")
            )
        except Conflict as conflict:
            if "existing_id" not in conflict.extensions:
                raise
            # The 409 points at the business's open visit.
            problem = problem_of(conflict)
            problem.headers = {"Location": f"/visits/{conflict.extensions['existing_id']}"}
            raise problem from None
        return JSONResponse(payload, status_code=status, headers={"Location": f"/visits/{payload['id']}"})

    @visits.get("/visits", response_model=list[Visit], responses=pagination.PAGED,
                summary="Visits of a business (or a planner, or in a status), newest first; pages: `Next-Cursor`")
    async def list_visits(
        request: Request,
        response: Response,
        principal: Principal = readers,
        business_id: UUID | None = None,
        planner_id: str | None = None,
        status: Literal["scheduled", "recorded", "cancelled"] | None = None,
        limit: pagination.Limit = pagination.DEFAULT_LIMIT,
        cursor: pagination.Cursor = None,
    ) -> list[Visit]:
        after = pagination.decode_cursor(cursor, pagination.DATE, pagination.DATETIME, pagination.ID)
        async with runtime.pool.acquire() as conn:
            found = await reads.visits(
                conn, business_id=business_id, planner_id=planner_id, status=status, limit=limit + 1, after=after,
                with_notes=principal.role != "auditor",
            )
        shown = pagination.page(found, limit, lambda v: (v["visited_on"] or v["scheduled_for"], v["created_at"], v["id"]), request, response)
        return [Visit.of(v) for v in shown]

    @visits.get("/visits/{visit_id}", response_model=Visit, summary="One visit (auditors do not see the notes)")
    async def get_visit(visit_id: UUID, principal: Principal = readers) -> Visit:
        async with runtime.pool.acquire() as conn:
            return Visit.of(await reads.visit(conn, visit_id, with_notes=principal.role != "auditor"))

    @visits.post(
        "/visits/{visit_id}/record", response_model=Visit,
        summary="Record what the planner found (emits VisitRecorded): the assigned planner, or staff on a planner's behalf",
        responses={403: {"description": "the caller's role may not do this (`x-roles`), or the rule `own_visits_only` (the problem's "
                                    "`rule`): a planner records only visits assigned to them, naming no other planner"}},
    )
    async def record_visit(
        visit_id: UUID, body: RecordIn, request: Request, principal: Principal = recorders, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = RecordVisit(visit_id=visit_id, caller=_caller(principal), **dict(body))

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            await handlers.record_visit(uow, command, today=clock.today())
            found = await reads.visit(uow.conn, visit_id, with_notes=True)
            return 200, Visit.of(found).model_dump(mode="json")

        return await _on_visit(run, visit_id, body, request, principal, idempotency_key)

    @visits.post("/visits/{visit_id}/cancel", response_model=Visit, summary="Cancel a visit, optionally scheduling a new one")
    async def cancel_visit(
        visit_id: UUID, body: CancelIn, request: Request, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = CancelVisit(visit_id=visit_id, **dict(body))

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.cancel_visit(uow, command, policy=policy, today=clock.today())
            return 200, _visit_json(row)

        return await _on_visit(run, visit_id, body, request, principal, idempotency_key)

    @visits.post("/visits/{visit_id}/reassign", response_model=Visit, summary="Give a scheduled visit to another planner")
    async def reassign_visit(
        visit_id: UUID, body: ReassignIn, request: Request, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        command = ReassignVisit(visit_id=visit_id, **dict(body))

        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.reassign_visit(uow, command)
            return 200, _visit_json(row)

        return await _on_visit(run, visit_id, body, request, principal, idempotency_key)

    @visits.post(
        "/visits/{visit_id}/follow-ups/{position}/done", response_model=Visit, summary="Mark a follow-up done",
        responses={403: {"description": "the caller's role may not do this (`x-roles`), or the rule `own_visits_only` (the problem's "
                                    "`rule`): a planner completes only the follow-ups of visits assigned to them"}},
    )
    async def complete_follow_up(
        visit_id: UUID, position: Annotated[int, Path(ge=1, le=MAX_FOLLOW_UPS, description="the follow-up's `position` in the visit")],
        principal: Principal = recorders,
    ) -> Visit:
        async with runtime.uow() as uow:
            await handlers.complete_follow_up(uow, CompleteFollowUp(visit_id, position, _caller(principal)), today=clock.today())
            found = await reads.visit(uow.conn, visit_id, with_notes=True)
            await uow.commit()
        return Visit.of(found)

    # ------------------------------------------------------------ reports

    @reports.get("/reports/visits", response_model=VisitReport, summary="Recorded visits per dong and per ISO week, and distinct shops visited")
    async def visit_report(
        first: date = Query(alias="from"), last: date = Query(alias="to"), _: Principal = readers
    ) -> VisitReport:
        async with runtime.pool.acquire() as conn:
            return VisitReport.model_validate(await reads.visit_report(conn, first, last))

    return [directory, planners, visits, reports]
