"""The routes every service answers for its operators: /health, /ready, /metrics, for a
service with read models /admin/replay, and for a service with consumers its dead letters
(/admin/dead-letters: list, show, redrive, discard; role `operator`)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, model_validator

from sangsaeng_common import dead_letters
from sangsaeng_common.contracts.operations import DiscardReason
from sangsaeng_common.errors import invalid

from sangsaeng_common.http import Principal, Problem, require
from sangsaeng_common.recorded_events_feed import FeedUnavailable
from sangsaeng_common.replay import ReplaySource, event_source, replay_report, replay_service
from sangsaeng_common.runtime import Runtime, ServiceDefinition


def ops_router(definition: ServiceDefinition, runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", summary="The process is alive")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready", summary="Ready to deliver: database and broker reachable, every consumer's partitions assigned",
                description="503 until the database and the broker answer and every consumer this process runs has joined "
                "its group and been given its partitions (an event published then is delivered without waiting for a join).")
    async def ready() -> JSONResponse:
        database, broker = await asyncio.gather(runtime.database_ready(), runtime.broker_ready())
        consumers = runtime.consumers_ready()
        ok = database and broker and consumers
        body = {"status": "ready" if ok else "not ready", "database": database, "broker": broker, "consumers": consumers}
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        if definition.consumers:
            await _refresh_dead_letter_gauge(definition, runtime)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if definition.read_models:

        @router.post(
            "/admin/replay",
            summary="Rebuild the read models from the log and compare them with the live ones",
            description="Runs this service's own handlers over every event, from Kafka's offset zero (`source=kafka`) or "
            "from the recorded events feed at EVENTS_FEED_URL (`source=ledger`, read with the caller's own token), into the "
            "scratch schema `<service>_replay` (nothing is published) and compares each read model with the live one. "
            "Auditors only.",
            responses={200: {"content": {"application/json": {"example": _REPLAY_EXAMPLE}}},
                       502: {"description": "the recorded events feed did not answer (`source=ledger`)"}},
        )
        async def replay(
            source: Annotated[ReplaySource, Query(description="where the events come from")] = ReplaySource.kafka,
            credentials: HTTPAuthorizationCredentials | None = Depends(HTTPBearer(auto_error=False)),
            _: Principal = require("auditor"),
        ) -> dict[str, Any]:
            # The feed is read with the caller's own token (require() has checked it is an auditor's).
            token = credentials.credentials if credentials else ""
            try:
                return replay_report(await replay_service(definition, runtime.settings, event_source(source, runtime.settings, token=token)))
            except FeedUnavailable as exc:
                raise Problem(502, "The recorded events feed did not answer", str(exc)) from None

    return router


async def _refresh_dead_letter_gauge(definition: ServiceDefinition, runtime: Runtime) -> None:
    try:
        async with asyncio.timeout(2), runtime.pool.acquire() as conn:
            await dead_letters.refresh_gauge(conn, [h.consumer for h in definition.consumers])
    except Exception:  # noqa: BLE001 - the other metrics are still worth serving; the gauge keeps its last values
        pass


class RedriveRequest(BaseModel):
    """What to redrive: `ids`, or every open dead letter (of `consumer`, of `reason`) with `all`."""

    ids: list[int] | None = Field(None, min_length=1, max_length=10_000, description="these dead letters")
    consumer: str | None = Field(None, description="only this consumer's (default: every consumer of the service)")
    reason: str | None = Field(None, description="only dead letters of this reason, e.g. handler_error")
    all: bool = Field(False, description="every open dead letter that `consumer` and `reason` select")

    @model_validator(mode="after")
    def one_selection(self) -> RedriveRequest:
        if self.ids is None and not self.all and self.reason is None:
            raise ValueError("name the dead letters: ids, a reason, or all=true")
        if self.ids is not None and (self.all or self.reason is not None):
            raise ValueError("ids cannot be combined with reason or all")
        return self


class DiscardRequest(BaseModel):
    reason: DiscardReason = Field(description="why it is given up (a code: it travels in the DeadLetterDiscarded event)")
    note: str | None = Field(None, max_length=2000, description="free text for the operators; stays in this service's table only")


def dead_letter_router(definition: ServiceDefinition, runtime: Runtime) -> APIRouter:
    """/admin/dead-letters: what the service's consumers dead-lettered or parked, from its own
    `dead_letters` table (no scan of Kafka). Operators only."""
    router = APIRouter(tags=["dead letters"], prefix="/admin/dead-letters")
    consumers = [h.consumer for h in definition.consumers]

    def check_consumer(consumer: str | None) -> None:
        if consumer is not None and consumer not in consumers:
            raise invalid("consumer", f"this service's consumers are {', '.join(consumers)}")

    @router.get("", summary="Dead letters by consumer and reason, and the open ones one by one")
    async def list_dead_letters(
        consumer: Annotated[str | None, Query(description="one consumer (default: all of this service's)")] = None,
        reason: Annotated[str | None, Query(description="one reason, e.g. handler_error, schema_invalid, parked")] = None,
        status: Annotated[str, Query(pattern="^(open|dead|parked|redriven|discarded|all)$",
                                     description="open = dead or parked")] = "open",
        after: Annotated[int, Query(ge=0, description="cursor: the last id of the page before")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        _: Principal = require("operator"),
    ) -> dict[str, Any]:
        check_consumer(consumer)
        wanted = [consumer] if consumer else consumers
        async with runtime.pool.acquire() as conn:
            items = await dead_letters.listing(conn, wanted, reason=reason, status=status, after=after, limit=limit)
            summary = await dead_letters.groups(conn, wanted)
        return {"service": definition.name, "consumers": wanted, "summary": summary, "items": items,
                "next_after": items[-1]["id"] if len(items) == limit else None}

    @router.get("/summary", summary="Open dead letters per consumer and reason (counts, first and last seen)")
    async def summary(_: Principal = require("operator")) -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            groups = await dead_letters.groups(conn, consumers)
        return {"service": definition.name, "consumers": consumers, "summary": groups}

    @router.get("/{dead_letter_id}", summary="One dead letter: origin, headers, value, attempts")
    async def show(dead_letter_id: Annotated[int, Path(ge=1)], _: Principal = require("operator")) -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            return await dead_letters.show(conn, consumers, dead_letter_id)

    @router.post("/redrive", summary="Redrive dead letters through the consumer's own path",
                 description="Applies each through the same decoding and inbox transaction as the live consumer (an event "
                 "applied already has no second effect), then the events parked behind it, in order. One pass: a record "
                 "still poison or still failing goes back to the DLQ once, with its attempt count, and stays listed.")
    async def redrive(body: Annotated[RedriveRequest, Body()], principal: Principal = require("operator")) -> dict[str, Any]:
        check_consumer(body.consumer)
        reports = await dead_letters.redrive(runtime.pool, definition.consumers, runtime.settings.kafka, principal=principal.name,
                                             ids=body.ids, consumer=body.consumer, reason=body.reason)
        return {"service": definition.name, "reports": [r.as_dict() for r in reports]}

    @router.post("/{dead_letter_id}/redrive", summary="Redrive one dead letter")
    async def redrive_one(dead_letter_id: Annotated[int, Path(ge=1)], principal: Principal = require("operator")) -> dict[str, Any]:
        reports = await dead_letters.redrive(runtime.pool, definition.consumers, runtime.settings.kafka, principal=principal.name,
                                             ids=[dead_letter_id])
        return {"service": definition.name, "reports": [r.as_dict() for r in reports if r.selected]}

    @router.post("/{dead_letter_id}/discard", summary="Give a dead letter up for good (recorded as DeadLetterDiscarded)")
    async def discard(dead_letter_id: Annotated[int, Path(ge=1)], body: Annotated[DiscardRequest, Body()],
                      principal: Principal = require("operator")) -> dict[str, Any]:
        return await dead_letters.discard(runtime.pool, definition.consumers, runtime.settings.kafka, service=definition.name,
                                          dead_letter_id=dead_letter_id, reason=body.reason, note=body.note, principal=principal.name)

    return router


_REPLAY_EXAMPLE = {
    "equal": False,
    "events": 7,
    "seconds": 0.412,
    "events_per_second": 17.0,
    "tables": [
        {"table": "counts_by_area", "live_rows": 3, "rebuilt_rows": 3, "equal": False, "missing": [], "extra": [],
         "different": [{"key": {"area": "회기동"}, "columns": {"count": {"live": 5, "rebuilt": 1}}}]},
    ],
}
