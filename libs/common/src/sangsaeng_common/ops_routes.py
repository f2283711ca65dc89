"""The routes every service answers for its operators: /health, /ready, /metrics and, for a
service with read models, /admin/replay."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

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
