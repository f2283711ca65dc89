"""Thin HTTP routes: parse, authorise, run one handler in one unit of work, answer."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from intake import handlers
from intake.models import Business, BusinessIn, StageChangeIn
from sangsaeng_common.http import Principal, Problem, require
from sangsaeng_common.service import Runtime
from sangsaeng_common.unit_of_work import UnitOfWork

IdempotencyKey = Header(None, alias="Idempotency-Key", description="repeat a POST safely: the same key gets the first answer")


def routes(runtime: Runtime) -> list[APIRouter]:
    router = APIRouter(tags=["businesses"])
    writers = require("staff", "planner")
    readers = require("staff", "planner", "loan_officer", "auditor")

    @router.post("/businesses", status_code=201, response_model=Business, summary="Register a business")
    async def register_business(
        body: BusinessIn, principal: Principal = writers, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.register_business(uow, body)
            return 201, Business.model_validate(dict(row)).model_dump(mode="json")

        status, payload = await runtime.command(
            run, scope=f"POST /businesses:{principal.name}", idempotency_key=idempotency_key,
            request_body=body.model_dump(mode="json"),
        )
        return JSONResponse(payload, status_code=status, headers={"Location": f"/businesses/{payload['id']}"})

    @router.get("/businesses/{business_id}", response_model=Business, summary="One business")
    async def get_business(business_id: UUID, _: Principal = readers) -> Business:
        row = await runtime.pool.fetchrow("select * from businesses where id = $1", business_id)
        if row is None:
            raise Problem(404, "Business not found", f"no business {business_id}")
        return Business.model_validate(dict(row))

    @router.post("/businesses/{business_id}/stage", response_model=Business, summary="Move a business to another lifecycle stage")
    async def change_stage(
        business_id: UUID, body: StageChangeIn, principal: Principal = writers, idempotency_key: str | None = IdempotencyKey
    ) -> JSONResponse:
        async def run(uow: UnitOfWork) -> tuple[int, dict]:
            row = await handlers.change_stage(uow, business_id, body)
            return 200, Business.model_validate(dict(row)).model_dump(mode="json")

        status, payload = await runtime.command(
            run, scope=f"POST /businesses/{{id}}/stage:{principal.name}", idempotency_key=idempotency_key,
            request_body={"business_id": str(business_id), **body.model_dump(mode="json")},
        )
        return JSONResponse(payload, status_code=status)

    return [router]
