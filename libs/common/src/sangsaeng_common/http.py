"""HTTP building blocks every service uses the same way: RFC 9457 problem+json errors,
bearer-token roles, correlation ids, request metrics, and Idempotency-Key."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sangsaeng_common import metrics, tracing
from sangsaeng_common.db import is_transient
from sangsaeng_common.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, NotYetKnown
from sangsaeng_common.logging import bind_contextvars, clear_contextvars, get_logger

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)


# ---------------------------------------------------------------- problems


class Problem(Exception):
    """An error answered as RFC 9457 problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type = status, title, detail, type_
        self.errors, self.headers, self.extensions = errors, headers, extensions

    @classmethod
    def invalid(cls, field: str, message: str) -> Problem:
        """422 naming the offending field."""
        return cls(422, "Invalid request", f"{field}: {message}", errors=[{"field": field, "message": message}])


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {"type": problem.type, "title": problem.title, "status": problem.status}
    if problem.detail:
        body["detail"] = problem.detail
    body["instance"] = request.url.path
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extensions)
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else [str(p) for p in loc]
    return ".".join(parts) or str(loc[0] if loc else "request")


def problem_of(error: DomainError) -> Problem:
    """The one place where a domain error becomes an HTTP answer."""
    if isinstance(error, Invalid):
        return Problem(
            422, error.title, error.detail, errors=[{"field": f, "message": m} for f, m in error.errors], **error.extensions
        )
    if isinstance(error, NotYetKnown):
        return Problem(503, error.title, error.detail, headers={"Retry-After": str(error.retry_after_s)}, **error.extensions)
    status = 404 if isinstance(error, NotFound) else 409 if isinstance(error, Conflict) else 403 if isinstance(error, Forbidden) else 400
    return Problem(status, error.title, error.detail, **error.extensions)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(request, problem_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_name(tuple(e.get("loc", ()))), "location": (e.get("loc") or ("body",))[0], "message": str(e.get("msg", "")).removeprefix("Value error, ")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(request, Problem(422, "Invalid request", detail, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":  # not JSON, not UTF-8
            message = "is not a JSON document"
            return problem_response(request, Problem(400, "Unreadable body", f"body: {message}", errors=[{"field": "body", "message": message}]))
        return problem_response(request, Problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None)))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_transient(exc):
            log.warning("dependency unavailable", error=repr(exc))
            return problem_response(
                request,
                Problem(503, "Service temporarily unavailable", "a dependency is unreachable; try again", headers={"Retry-After": "2"}),
            )
        log.error("unhandled error", error=repr(exc), exc_info=exc)
        return problem_response(request, Problem(500, "Internal error"))


# ---------------------------------------------------------------- correlation + metrics


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


# ---------------------------------------------------------------- authentication


@dataclass(frozen=True)
class Principal:
    role: str  # staff, planner, loan_officer, auditor, agency

    agency: str | None = None

    @property
    def name(self) -> str:
        return f"agency:{self.agency}" if self.agency else self.role


_bearer = HTTPBearer(auto_error=False)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Authenticator:
    """Bearer tokens from configuration (AUTH_TOKENS: token -> role). Tokens are kept
    as SHA-256 digests and compared in constant time."""

    def __init__(self, tokens: dict[str, str]):
        self._by_digest = [(_digest(token), role) for token, role in tokens.items()]

    def principal(self, token: str) -> Principal | None:
        digest = _digest(token)
        found = None
        for known, role in self._by_digest:
            if hmac.compare_digest(known, digest):
                found = role
        if found is None:
            return None
        if found.startswith("agency:"):
            return Principal("agency", found.removeprefix("agency:"))
        return Principal(found)


def require(*roles: str) -> Any:
    """Dependency: the caller's principal, which must hold one of `roles` ("agency" for any agency)."""

    async def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise Problem(401, "Authentication required", "send Authorization: Bearer <token>", headers=challenge)
        principal = request.app.state.authenticator.principal(credentials.credentials)
        if principal is None:
            raise Problem(401, "Invalid token", headers=challenge)
        if principal.role not in roles:
            raise Problem(403, "Forbidden", f"role {principal.name} may not do this; allowed: {', '.join(roles)}")
        bind_contextvars(principal=principal.name)
        return principal

    dependency.roles = roles  # type: ignore[attr-defined]  # read by document_problems for the OpenAPI
    return Depends(dependency)


def roles_of(route: APIRoute) -> tuple[str, ...] | None:
    """The roles a route's `require` admits, or None for an open route."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        roles = getattr(dependant.call, "roles", None)
        if roles is not None:
            return roles
        pending.extend(dependant.dependencies)
    return None


# ---------------------------------------------------------------- the answers in the OpenAPI

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "location": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

# Answers the shared mechanisms give, whatever the route: documented once here.
_SHARED_PROBLEMS = {
    "400": "the body is not a JSON document",
    "404": "no such resource (or not one the caller may see)",
    "409": "conflicts with the resource's current state",
    "401": "no bearer token, or an unknown one",
    "403": "the caller's role may not do this (`x-roles` lists the roles that may)",
    "422": "invalid input; `errors[].field` names the field",
    "503": "a dependency (database, broker) is unreachable; try again after Retry-After",
}


def document_problems(app: FastAPI, routes: Iterable[BaseRoute]) -> None:
    """Make the OpenAPI tell the truth about errors: every error answer is problem+json
    (FastAPI documents its own 422 shape, which this project never sends); secured routes
    list `x-roles` and their 401/403; every route with input can answer 422, and every
    route 503. `routes`: the app's and its routers' (an included router keeps its own)."""
    for route in routes:
        if isinstance(route, APIRoute) and (roles := roles_of(route)) is not None:
            route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": list(roles)}
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for item in schema.get("paths", {}).values():
            for method, operation in item.items():
                responses = operation.setdefault("responses", {})
                parameters = operation.get("parameters", [])
                shared = ["503"] + (["422"] if parameters or "requestBody" in operation else [])
                shared += ["400"] if "requestBody" in operation else []
                # A path naming a resource by id answers 404 when there is none.
                by_id = any(p["in"] == "path" and p["name"].endswith("_id") for p in parameters)
                shared += ["404"] if by_id else []
                # ... and a change to it can conflict with the state it is in.
                shared += ["409"] if by_id and method in ("post", "put") else []
                shared += ["401", "403"] if "x-roles" in operation else []
                for code in shared:
                    responses.setdefault(code, {"description": _SHARED_PROBLEMS[code]})
                for code, response in responses.items():
                    if code[0] in "45":
                        own = response.get("content", {}).get("application/json")  # a route's own problem model
                        response["content"] = {PROBLEM_JSON: own} if own and code not in ("422",) else problem
                        if code == "503":
                            response["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
                        if code == "422":
                            response["description"] = _SHARED_PROBLEMS["422"]
        for name in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# ---------------------------------------------------------------- idempotency

# The header every POST takes (pass the value to Runtime.command).
IdempotencyKey = Header(None, alias="Idempotency-Key", description="repeat a POST safely: the same key gets the first answer")


def idempotency_scope(request: Request) -> str:
    """Where a POST's Idempotency-Keys are remembered: its method and route template
    ("POST /visits/{visit_id}/record"), the same for every id, never typed by hand."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


async def idempotent(
    conn: asyncpg.Connection,
    *,
    scope: str,
    key: str | None,
    request_body: Any,
    command: Callable[[], Awaitable[tuple[int, Any]]],
) -> tuple[int, Any, bool]:
    """Run `command` once per (scope, Idempotency-Key); a repeat gets the first answer.

    Runs inside the command's transaction: the stored answer commits with the effects.
    The key row is inserted first; a concurrent request with the same key blocks on
    that insert until the first transaction ends, then finds the stored answer.
    Returns (status, body, replayed).
    """
    if key is None:
        status, body = await command()
        return status, body, False
    if not 1 <= len(key) <= 200:
        raise Problem.invalid("Idempotency-Key", "must be 1 to 200 characters")
    request_hash = hashlib.sha256(json.dumps(request_body, sort_keys=True, default=str).encode()).hexdigest()
    inserted = await conn.fetchval(
        """insert into idempotency_keys (scope, key, request_hash) values ($1, $2, $3)
           on conflict do nothing returning true""",
        scope,
        key,
        request_hash,
    )
    if not inserted:
        stored = await conn.fetchrow("select request_hash, status_code, response from idempotency_keys where scope = $1 and key = $2", scope, key)
        if stored["request_hash"] != request_hash:
            raise Problem(422, "Idempotency-Key reused", "this Idempotency-Key was used with a different request body")
        return stored["status_code"], stored["response"], True
    status, body = await command()
    await conn.execute(
        "update idempotency_keys set status_code = $3, response = $4 where scope = $1 and key = $2", scope, key, status, body
    )
    return status, body, False
