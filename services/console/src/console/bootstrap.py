"""Composition root of the console: settings, the users and sessions, the API client, the live-events
listener and the routes, wired into one FastAPI app."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest

from console.adapters.api import Services
from console.adapters.live import LiveEvents
from console.adapters.oidc import IdentityProvider
from console.config import ConsoleSettings
from console.entrypoints import http
from console.service_layer.sessions import Sessions
from console.wiring import STATIC, Console
from sangsaeng_common.clock import SeoulClock

PAGE_SECONDS = Histogram("console_page_seconds", "Server time of a console page", ["route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


def build(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    api = Services(settings.service_urls, settings.api_timeout_s)
    console = Console(
        settings=settings,
        sessions=Sessions(settings.console_secret_key, settings.console_session_hours * 3600),
        api=api,
        identity=IdentityProvider(settings.auth_issuer, settings.auth_audience, settings.auth_jwks_url, settings.auth_algorithms,
                                  settings.console_client_id, settings.console_client_secret, api.client,
                                  settings.auth_discovery_url),
        live=LiveEvents(settings.kafka),
        clock=SeoulClock(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await console.live.start()
        try:
            yield
        finally:
            await console.live.stop()
            await console.api.close()

    app = FastAPI(title="Sangsaeng console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def timing_and_headers(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        renewed = getattr(request.state, "session_cookie", None)
        if renewed:  # a page renewed the person's access token on the way (routes: page())
            console.set_session_cookie(response, renewed)
        route = request.scope.get("route")
        seconds = time.perf_counter() - started
        PAGE_SECONDS.labels(getattr(route, "path", "other")).observe(seconds)
        # the page's own server time (the API calls included), for the browser's devtools and bench/console_pages.py;
        # a streamed answer (export, live) counts until its first byte
        response.headers.setdefault("Server-Timing", f"app;dur={seconds * 1000:.1f}")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                    "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        """Ready when it can serve pages: intake (every page's base) answers. Live updates are best effort."""
        try:
            answer = await console.api.get_raw("intake", "/health")
            intake = answer.status_code == 200
        except Exception:  # noqa: BLE001
            intake = False
        body = {"status": "ready" if intake else "not ready", "intake": intake, "live_events": console.live.connected}
        return JSONResponse(body, status_code=200 if intake else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    http.routes(app, console)
    return app
