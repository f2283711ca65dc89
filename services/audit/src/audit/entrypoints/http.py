"""Auditors' read-only HTTP API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from audit import queries
from audit.domain.application import as_of
from audit.domain.period import Period, parse_period
from sangsaeng_common.http import Principal, Problem, require
from sangsaeng_common.runtime import Runtime

PeriodName = Path(description="YYYYH1, YYYYH2, YYYYQ1..Q4, YYYY-MM or YYYY", examples=["2025H1"])


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise Problem.invalid("period", str(exc)) from None


def routes(runtime: Runtime) -> list[APIRouter]:
    router = APIRouter(tags=["audit"])
    auditors = require("auditor", "staff")

    @router.get("/verify", summary="Walk the hash chain and check the cross-service rules")
    async def verify(_: Principal = require("auditor")) -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            return await queries.verify(conn)

    @router.get("/reports/{period}", summary="The center's report for a period, from the ledger")
    async def report(period: str = PeriodName, _: Principal = auditors) -> dict[str, Any]:
        parsed = _period(period)
        async with runtime.pool.acquire() as conn:
            return await queries.report(conn, parsed)

    @router.get(
        "/events",
        summary="The ledger's events, whole, in ledger order, as JSON lines",
        description="Each line one event with its CloudEvents headers, data, topic, partition, offset and hash, in the "
        "order the ledger recorded them (per partition, the order they were consumed in): what outside auditors "
        "export, and what a service rebuilds its read models from (`replay --source ledger`). "
        "The `Event-Count` header says how many lines follow. Auditors only.",
        response_class=StreamingResponse,
        responses={200: {"content": {"application/x-ndjson": {}}}},
    )
    async def events(
        period: Annotated[str | None, Query(description="only events of this period (by CloudEvents time)", examples=["2025H1"])] = None,
        topic: Annotated[list[str] | None, Query(description="only events of these topics (repeat the parameter)")] = None,
        _: Principal = require("auditor"),
    ) -> StreamingResponse:
        parsed = _period(period) if period else None
        async with runtime.pool.acquire() as conn:
            count = await queries.export_count(conn, parsed, topic)

        async def lines() -> AsyncIterator[str]:
            chunk: list[str] = []
            async with runtime.pool.acquire() as conn:
                async for event in queries.export(conn, parsed, topic):
                    chunk.append(json.dumps(event, ensure_ascii=False) + "\n")
                    if len(chunk) >= 500:
                        yield "".join(chunk)
                        chunk = []
            yield "".join(chunk)

        return StreamingResponse(lines(), media_type="application/x-ndjson", headers={"Event-Count": str(count)})

    @router.get("/applications/{application_id}", summary="A loan application as it was at a given time, from the ledger")
    async def application(
        application_id: UUID,
        at: Annotated[datetime | None, Query(description="the moment (ISO 8601; default now)", examples=["2025-05-20T09:00:00+09:00"])] = None,
        _: Principal = require("auditor"),
    ) -> dict[str, Any]:
        moment = as_of(at)
        async with runtime.pool.acquire() as conn:
            state = await queries.application_at(conn, str(application_id), moment)
        if state is None:
            raise Problem(404, "No such application at that time", f"the ledger has no event of application {application_id} up to {moment.isoformat()}")
        return state

    return [router]

