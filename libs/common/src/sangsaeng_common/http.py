"""HTTP building blocks every route uses the same way: RFC 9457 problem+json errors (the
one mapping of domain errors to answers) and the caller's principal from its bearer JWT
(checked in identity.py). The request context is in request_context.py, the OpenAPI's error
answers in openapi.py, Idempotency-Key in idempotency.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from sangsaeng_common.db import is_transient
from sangsaeng_common.identity import IdentityUnavailable, InvalidToken, Jwks, TokenValidator
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
    never a name): the `actor` of the events their commands cause. `role` is the role the
    caller acts in on this route (one of `roles`, all the system's roles its token carries)."""

    role: str  # staff, planner, loan_officer, auditor, operator, agency
    agency: str | None = None  # an agency user's agency
    subject: str | None = None
    planner_id: str | None = None  # a planner's id in visits' roster
    roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.roles:
            object.__setattr__(self, "roles", (self.role,))

    @property
    def name(self) -> str:
        """How records and events name who acted: the subject id."""
        return self.subject or (f"agency:{self.agency}" if self.agency else self.role)


_bearer = HTTPBearer(auto_error=False, bearerFormat="JWT",
                     description="An access token from the center's OpenID Connect provider (README, Identity)")


class Authenticator:
    """Bearer JWTs from the identity provider (identity.py), as the app's one authenticator."""

    def __init__(self, validator: TokenValidator | None):
        self.validator = validator

    @classmethod
    def from_settings(cls, settings: Any) -> Authenticator:
        if not settings.auth_issuer:
            log.warning("AUTH_ISSUER is unset: every bearer token is refused")
            return cls(None)
        keys = Jwks(settings.auth_issuer, settings.auth_jwks_url, settings.auth_algorithms,
                    max_age_s=settings.auth_jwks_max_age_s, refetch_after_s=settings.auth_jwks_refetch_after_s)
        return cls(TokenValidator(settings.auth_issuer, settings.auth_audience, keys, algorithms=settings.auth_algorithms,
                                  leeway_s=settings.auth_leeway_s))

    async def principal(self, token: str) -> Principal:
        """The token's principal; InvalidToken (401) or IdentityUnavailable (503) otherwise."""
        if self.validator is None:
            raise InvalidToken("this service trusts no issuer (AUTH_ISSUER unset)")
        found = await self.validator.identity(token)
        if not found.roles:
            raise NoRole(found.subject)
        return Principal(found.roles[0], found.agency, found.subject, found.planner_id, found.roles)


class NoRole(Exception):
    """A valid token whose bearer holds none of this system's roles: a 403."""


def _invalid_token(description: str) -> Problem:
    # RFC 6750 3: the description is printable ASCII without a double quote or a backslash
    quoted = "".join(c if " " <= c <= "~" and c not in '"\\' else "'" for c in description)
    return Problem(401, "Invalid token", description,
                   headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{quoted}"'})


def require(*roles: str) -> Any:
    """Dependency: the caller's principal, which must hold one of `roles` ("agency" for any
    agency); it acts in the first of its roles that the route admits."""

    async def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
        if credentials is None:
            raise Problem(401, "Authentication required", "send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"})
        try:
            principal = await request.app.state.authenticator.principal(credentials.credentials)
        except InvalidToken as exc:
            raise _invalid_token(str(exc)) from None
        except NoRole as exc:
            raise Problem(403, "Forbidden", f"{exc} holds no role of this system; allowed: {', '.join(roles)}") from None
        except IdentityUnavailable as exc:
            log.warning("identity provider unavailable", error=str(exc))
            raise Problem(503, "Identity provider unavailable", "the token cannot be checked just now; try again",
                          headers={"Retry-After": "2"}) from None
        acting = next((role for role in principal.roles if role in roles), None)
        if acting is None:
            held = ", ".join(principal.roles)
            raise Problem(403, "Forbidden", f"role {held} of {principal.name} may not do this; allowed: {', '.join(roles)}")
        if acting != principal.role:
            principal = replace(principal, role=acting)
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
