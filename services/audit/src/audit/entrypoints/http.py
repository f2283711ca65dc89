"""Auditors' read-only HTTP API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from audit import queries
from audit.domain.period import Period, parse_period
from sangsaeng_common.http import Principal, Problem, require
from sangsaeng_common.service import Runtime

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

    return [router]
