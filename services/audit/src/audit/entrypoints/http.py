"""Auditors' read-only HTTP API: each route reads its parameters, calls the service layer on a
pooled connection and returns its answer (domain errors become problem+json in sangsaeng_common.http)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from audit.service_layer import handlers, log
from audit.service_layer.log import LogKeys
from audit.service_layer.commands import ApplicationAt, ExportEvents, Report, Verify
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.http import Principal, require
from sangsaeng_common.runtime import Runtime

PeriodName = Path(description="YYYYH1, YYYYH2, YYYYQ1..Q4, YYYY-MM or YYYY", examples=["2025H1"])


def routes(*, limits: dict[str, dict[str, int]], clock: SeoulClock, keys: LogKeys) -> Callable[[Runtime], list[APIRouter]]:
    """The routes, given what the composition root built; called with the runtime at start-up."""

    def build(runtime: Runtime) -> list[APIRouter]:
        router = APIRouter(tags=["audit"])
        auditors = require("auditor", "staff")

        @router.get("/verify", summary="Check the log (entries, tree, signed checkpoints) and the cross-service rules")
        async def verify(_: Principal = require("auditor")) -> dict[str, Any]:
            async with runtime.pool.acquire() as conn:
                return await handlers.verify(conn, Verify(), limits=limits, clock=clock, keys=keys)

        # The transparency log (contracts/ledger.md): checkpoints and proofs for auditors and
        # agencies (an agency proves its referral is in the log), entry bytes for auditors.
        proof_readers = require("auditor", "agency")

        @router.get("/checkpoint", summary="The latest signed checkpoint (a C2SP signed note)")
        async def checkpoint(_: Principal = proof_readers) -> dict[str, Any]:
            async with runtime.pool.acquire() as conn:
                return await log.latest(conn)

        @router.post("/checkpoints", summary="Sign a checkpoint of the tree now (on demand)")
        async def checkpoint_now(_: Principal = require("auditor", "operator")) -> dict[str, Any]:
            async with runtime.pool.acquire() as conn:
                async with conn.transaction():
                    made = await log.make_checkpoint(conn, keys)
                return await log.latest(conn) if made is None else log.checkpoint_view(made)

        @router.get("/checkpoints", summary="The signed checkpoints of one tree size",
                    responses={404: {"description": "no checkpoint signed a tree of that size"}})
        async def checkpoints(size: Annotated[int, Query(description="the tree size", ge=0)], _: Principal = proof_readers) -> list[dict[str, Any]]:
            async with runtime.pool.acquire() as conn:
                return await log.of_size(conn, size)

        @router.get("/proofs/inclusion", summary="An event's entry index, leaf hash and audit path in a tree (RFC 9162 §2.1.3)",
                    responses={404: {"description": "the ledger has no such event"}})
        async def inclusion(
            event_id: Annotated[UUID, Query(description="the event's ce_id")],
            size: Annotated[int | None, Query(description="the tree size (default: the latest checkpoint's)", ge=0)] = None,
            _: Principal = proof_readers,
        ) -> dict[str, Any]:
            async with runtime.pool.acquire() as conn:
                return await log.inclusion(conn, str(event_id), size)

        @router.get("/proofs/consistency", summary="That the tree of size `from` is a prefix of the tree of size `to` (RFC 9162 §2.1.4)")
        async def consistency(
            old: Annotated[int, Query(alias="from", description="the older tree size", ge=0)],
            new: Annotated[int | None, Query(alias="to", description="the newer tree size (default: the latest checkpoint's)", ge=0)] = None,
            _: Principal = proof_readers,
        ) -> dict[str, Any]:
            async with runtime.pool.acquire() as conn:
                return await log.consistency(conn, old, new)

        @router.get("/entries", summary="Entries' exact bytes (base64), by index: what the tree's leaves hash")
        async def entries(
            start: Annotated[int, Query(description="the first index", ge=0)],
            end: Annotated[int | None, Query(description=f"one past the last index (at most {log.MAX_ENTRIES_PER_REQUEST} entries)", ge=0)] = None,
            _: Principal = require("auditor"),
        ) -> dict[str, Any]:
            async with runtime.pool.acquire() as conn:
                return await log.entries(conn, start, end)

        @router.get("/reports/{period}", summary="The center's report for a period, from the ledger")
        async def report(period: str = PeriodName, _: Principal = auditors) -> dict[str, Any]:
            async with runtime.pool.acquire() as conn:
                return await handlers.report(conn, Report(period))

        @router.get(
            "/events",
            summary="The ledger's events, whole, in ledger order, as JSON lines",
            description="Each line one event with its CloudEvents headers, data, topic, partition, offset and entry index, in the "
            "order the ledger recorded them (per partition, the order they were consumed in): what outside auditors "
            "export, and what a service rebuilds its read models from (`replay --source ledger`). "
            "The `Event-Count` header says how many lines follow. Auditors only.",
            response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}}},
        )
        async def events(
            period: Annotated[str | None, Query(description="only events of this period (by business date, as the report counts)", examples=["2025H1"])] = None,
            topic: Annotated[list[str] | None, Query(description="only events of these topics (repeat the parameter)")] = None,
            _: Principal = require("auditor"),
        ) -> StreamingResponse:
            asked = ExportEvents(period or None, tuple(topic or ()))
            async with runtime.pool.acquire() as conn:
                count = await handlers.export_count(conn, asked)

            async def lines() -> AsyncIterator[str]:
                chunk: list[str] = []
                async with runtime.pool.acquire() as conn:
                    async for event in handlers.export(conn, asked):
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
            async with runtime.pool.acquire() as conn:
                return await handlers.application_at(conn, ApplicationAt(str(application_id), at), clock=clock)

        return [router]

    return build
