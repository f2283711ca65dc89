"""Visits' HTTP routes."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from sangsaeng_common.contracts.intake import Stage
from sangsaeng_common.http import Principal, Problem, require
from sangsaeng_common.service import Runtime


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
    stage_history: list[StageStep]


def routes(runtime: Runtime) -> list[APIRouter]:
    router = APIRouter(tags=["directory"])
    readers = require("staff", "planner", "auditor")

    @router.get("/businesses/{business_id}", response_model=DirectoryBusiness, summary="A business as visits knows it")
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

    return [router]
