"""HTTP building blocks every route uses the same way: RFC 9457 problem+json errors (the
one mapping of domain errors to answers) and bearer-token roles. The request context is in
request_context.py, the OpenAPI's error answers in openapi.py, Idempotency-Key in
idempotency.py."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from sangsaeng_common.db import is_transient
from sangsaeng_common.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, NotYetKnown
from sangsaeng_common.logging import bind_contextvars, get_logger
from sangsaeng_common.request_context import actor_var

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


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
        # `retryable`: this 503 is an answer about the request (a fact not arrived yet), not a
        # dependency down; a client retries it after Retry-After with the same Idempotency-Key.
        return Problem(503, error.title, error.detail, headers={"Retry-After": str(error.retry_after_s)}, retryable=True,
                       **error.extensions)
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


# ---------------------------------------------------------------- authentication


@dataclass(frozen=True)
class Principal:
    """Who calls: a person or a system. `subject` is a pseudonymous id (a staff number,
    never a name): the `actor` of the events their commands cause."""

    role: str  # staff, planner, loan_officer, auditor, operator, agency
    agency: str | None = None  # an agency user's agency
    subject: str | None = None
    planner_id: str | None = None  # a planner's id in visits' roster

    @property
    def name(self) -> str:
        """How records and events name who acted: the subject id."""
        return self.subject or (f"agency:{self.agency}" if self.agency else self.role)


_bearer = HTTPBearer(auto_error=False)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Authenticator:
    """Bearer tokens from configuration (AUTH_TOKENS: token -> role, or token -> {"role",
    "subject", "planner_id", "agency"}). Tokens are kept as SHA-256 digests and compared in
    constant time."""

    def __init__(self, tokens: dict[str, Any]):
        self._by_digest = [(_digest(token), _principal_of(who)) for token, who in tokens.items()]

    def principal(self, token: str) -> Principal | None:
        digest = _digest(token)
        found = None
        for known, principal in self._by_digest:
            if hmac.compare_digest(known, digest):
                found = principal
        return found


def _principal_of(who: str | dict[str, Any]) -> Principal:
    if isinstance(who, dict):
        return Principal(who["role"], who.get("agency"), who.get("subject"), who.get("planner_id"))
    if who.startswith("agency:"):
        return Principal("agency", who.removeprefix("agency:"))
    return Principal(who)


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
        actor_var.set(principal.name)
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
