"""Visits' thin HTTP routes: parse, authorise, run one handler in one unit of work, answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sangsaeng_common.contracts.common import Need
from sangsaeng_common.contracts.intake import Stage
from sangsaeng_common.contracts.visits import VisitOutcome
from sangsaeng_common.http import Principal, Problem, require
from sangsaeng_common.idempotency import IdempotencyKey
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.unit_of_work import UnitOfWork
from visits import handlers, queries
from visits.config import policy
from visits.models import MAX_FOLLOW_UPS, CancelIn, PlannerOut, ReassignIn, RecordIn, ScheduleIn, Visit



class StageStep(BaseModel):
    position: int
    from_stage: Stage
    to_stage: Stage
    changed_on: date


class DirectoryBusiness(BaseModel):
    id: UUID
    registration_number: str | None
    name: str
    dong: str
    industry: str
    employees: int
    is_micro_business: bool
    stage: Stage
    registered_on: date | None
    updated_at: datetime
    erased_at: datetime | None = None
    stage_history: list[StageStep]


class RouteStop(BaseModel):
    visit_id: UUID
    business_id: UUID
    business_name: str
    dong: str
    industry: str
    stage: Stage
    status: str
    needs: list[Need]
    outcome: VisitOutcome | None


class Route(BaseModel):
    planner_id: str
    date: date
    daily_capacity: int
    stops: list[RouteStop]


class OpenFollowUp(BaseModel):
    visit_id: UUID
    position: int
    action: str
    due_on: date
    overdue: bool
    business_id: UUID
    business_name: str
    dong: str
    visited_on: date


class CountRow(BaseModel):
    visits: int
    distinct_shops: int


class DongCount(CountRow):
    dong: str


class WeekCount(CountRow):
    week: str  # ISO week, "2025-W20"
    week_start: date


class VisitReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    visits: int
    distinct_shops: int
    by_dong: list[DongCount]
    by_week: list[WeekCount]
    by_outcome: dict[str, int]


def _visit_json(row: Any) -> dict:
    return Visit.of(row).model_dump(mode="json")


def routes(runtime: Runtime) -> list[APIRouter]:
    directory = APIRouter(tags=["directory"])
    planners = APIRouter(tags=["planners"])
    visits = APIRouter(tags=["visits"])
    reports = APIRouter(tags=["reports"])
    readers = require("staff", "planner", "auditor")
    staff = require("staff")
    planner = require("planner")

    # ------------------------------------------------------------ directory

    @directory.get("/businesses/{business_id}", response_model=DirectoryBusiness, summary="A business as visits knows it")
    async def get_business(business_id: UUID, _: Principal = readers) -> DirectoryBusiness:
        async with runtime.pool.acquire() as conn:
            row = await conn.fetchrow("select * from businesses where id = $1", business_id)
            if row is None:
                raise Problem(404, "Business not found", f"visits has no business {business_id} (yet)")
            history = await conn.fetch(
                "select position, from_stage, to_stage, changed_on from business_stage_history where business_id = $1 order by position",
                business_id,
            )
        return DirectoryBusiness(**dict(row), stage_history=[StageStep(**dict(h)) for h in history])

    # ------------------------------------------------------------ planners

    @planners.get("/planners", response_model=list[PlannerOut], summary="Planners and their territories")
    async def list_planners(_: Principal = readers) -> list[PlannerOut]:
        async with runtime.pool.acquire() as conn:
            return [PlannerOut(**p) for p in await queries.planners(conn)]

    async def _planner(conn: Any, planner_id: str) -> dict:
        found = await queries.planners(conn, planner_id)
        if not found:
            raise Problem(404, "Planner not found", f"no planner {planner_id}")
        return found[0]

    @planners.get("/planners/{planner_id}/route", response_model=Route, summary="A planner's visits for a day")
    async def planner_route(
        planner_id: str, day: date | None = Query(None, alias="date", description="default today (Seoul)"), _: Principal = readers
    ) -> Route:
        day = day or handlers.today_in_seoul()
        async with runtime.pool.acquire() as conn:
            found = await _planner(conn, planner_id)
            stops = await queries.route(conn, planner_id, day)
        return Route(planner_id=planner_id, date=day, daily_capacity=found["daily_capacity"], stops=[RouteStop(**s) for s in stops])

    @planners.get("/planners/{planner_id}/follow-ups", response_model=list[OpenFollowUp], summary="Open follow-ups of a planner's visits")
    async def planner_follow_ups(
        planner_id: str, due_before: date | None = Query(None, description="only those due before this day"), _: Principal = readers
    ) -> list[OpenFollowUp]:
        async with runtime.pool.acquire() as conn:
            await _planner(conn, planner_id)
            rows = await queries.open_follow_ups(conn, planner_id, handlers.today_in_seoul(), due_before)
        return [OpenFollowUp(**r) for r in rows]

    # ------------------------------------------------------------ visits

    @visits.post("/visits", status_code=201, response_model=Visit, summary="Schedule a visit (assigned to the least-loaded covering planner)")
    async def schedule_visit(body: ScheduleIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.schedule_visit(uow, policy(), body, handlers.today_in_seoul())
            return 201, _visit_json(row)

        status, payload = await runtime.command(
            run, scope="POST /visits", principal=principal, idempotency_key=idempotency_key, request_body=body.model_dump(mode="json")
        )
        return JSONResponse(payload, status_code=status, headers={"Location": f"/visits/{payload['id']}"})

    @visits.get("/visits", response_model=list[Visit], summary="Visits of a business (or a planner, or in a status)")
    async def list_visits(
        principal: Principal = readers,
        business_id: UUID | None = None,
        planner_id: str | None = None,
        status: Literal["scheduled", "recorded", "cancelled"] | None = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[Visit]:
        async with runtime.pool.acquire() as conn:
            return await queries.visits(
                conn, business_id=business_id, planner_id=planner_id, status=status, limit=limit, with_notes=principal.role != "auditor"
            )

    @visits.get("/visits/{visit_id}", response_model=Visit, summary="One visit (auditors do not see the notes)")
    async def get_visit(visit_id: UUID, principal: Principal = readers) -> Visit:
        async with runtime.pool.acquire() as conn:
            found = await queries.visit(conn, visit_id, with_notes=principal.role != "auditor")
        if found is None:
            raise Problem(404, "Visit not found", f"no visit {visit_id}")
        return found

    @visits.post("/visits/{visit_id}/record", response_model=Visit, summary="Record what the planner found (emits VisitRecorded)")
    async def record_visit(
        visit_id: UUID, body: RecordIn, principal: Principal = planner, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            await handlers.record_visit(uow, visit_id, body, handlers.today_in_seoul())
            found = await queries.visit(uow.conn, visit_id, with_notes=True)
            return 200, found.model_dump(mode="json")

        status, payload = await runtime.command(
            run, scope="POST /visits/{id}/record", principal=principal, idempotency_key=idempotency_key,
            request_body={"visit_id": str(visit_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    @visits.post("/visits/{visit_id}/cancel", response_model=Visit, summary="Cancel a visit, optionally scheduling a new one")
    async def cancel_visit(
        visit_id: UUID, body: CancelIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.cancel_visit(uow, policy(), visit_id, body, handlers.today_in_seoul())
            return 200, _visit_json(row)

        status, payload = await runtime.command(
            run, scope="POST /visits/{id}/cancel", principal=principal, idempotency_key=idempotency_key,
            request_body={"visit_id": str(visit_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    @visits.post("/visits/{visit_id}/reassign", response_model=Visit, summary="Give a scheduled visit to another planner")
    async def reassign_visit(
        visit_id: UUID, body: ReassignIn, principal: Principal = staff, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.reassign_visit(uow, visit_id, body)
            return 200, _visit_json(row)

        status, payload = await runtime.command(
            run, scope="POST /visits/{id}/reassign", principal=principal, idempotency_key=idempotency_key,
            request_body={"visit_id": str(visit_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    @visits.post("/visits/{visit_id}/follow-ups/{position}/done", response_model=Visit, summary="Mark a follow-up done")
    async def complete_follow_up(
        visit_id: UUID, position: Annotated[int, Path(ge=1, le=MAX_FOLLOW_UPS, description="the follow-up's `position` in the visit")],
        principal: Principal = planner,
    ) -> Visit:
        async with runtime.uow() as uow:
            await handlers.complete_follow_up(uow, visit_id, position, handlers.today_in_seoul())
            found = await queries.visit(uow.conn, visit_id, with_notes=True)
            await uow.commit()
        return found

    # ------------------------------------------------------------ reports

    @reports.get("/reports/visits", response_model=VisitReport, summary="Recorded visits per dong and per ISO week, and distinct shops visited")
    async def visit_report(
        first: date = Query(alias="from"), last: date = Query(alias="to"), _: Principal = readers
    ) -> VisitReport:
        if last < first:
            raise Problem.invalid("to", "is before from")
        async with runtime.pool.acquire() as conn:
            return VisitReport.model_validate(await queries.visit_report(conn, first, last))

    return [directory, planners, visits, reports]
