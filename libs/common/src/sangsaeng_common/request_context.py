"""The context of each HTTP request: its correlation id and trace parent, its log context,
its metrics and its log line."""

from __future__ import annotations

import time
import uuid
from contextvars import ContextVar

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sangsaeng_common import metrics, tracing
from sangsaeng_common.logging import bind_contextvars, clear_contextvars, get_logger

log = get_logger(__name__)

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)
# Who gave the request's command (the authenticated subject id): set by http.require.
actor_var: ContextVar[str | None] = ContextVar("actor", default=None)


def install_request_context(app: FastAPI) -> None:
    app.add_middleware(_RequestContext, service_name=app.state.service_name)


class _RequestContext:
    """Correlation id, trace parent and log context for each request, its metrics and its log
    line. A plain ASGI middleware: Starlette's BaseHTTPMiddleware (`@app.middleware`) runs
    the app in a task of its own and streams the response through a queue, which cost
    about a sixth of the CPU of a POST (see BENCHMARKS.md)."""

    def __init__(self, app: ASGIApp, service_name: str):
        self.app = app
        self.service_name = service_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        correlation_id = headers.get("x-correlation-id") or str(uuid.uuid4())
        correlation_id_var.set(correlation_id)
        tracing.annotate(correlation_id)
        traceparent_var.set(headers.get("traceparent"))
        actor_var.set(None)
        clear_contextvars()
        bind_contextvars(service=self.service_name, correlation_id=correlation_id)
        started = time.perf_counter()
        status = 500

        async def send_with_correlation_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (b"x-correlation-id", correlation_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_correlation_id)
        finally:
            elapsed = time.perf_counter() - started
            path = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(method, path, status).inc()
            metrics.HTTP_LATENCY.labels(method, path).observe(elapsed)
            if path not in ("/health", "/ready", "/metrics"):
                log.info("request", method=method, path=scope["path"], status=status, ms=round(elapsed * 1000, 1))
