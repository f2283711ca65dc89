"""The OpenAPI tells the truth about errors: problem+json answers, roles, shared answers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from sangsaeng_common.http import PROBLEM_JSON, roles_of

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
    "401": "no bearer token, or one that is not valid here (malformed, wrongly signed, expired, another issuer or audience)",
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
