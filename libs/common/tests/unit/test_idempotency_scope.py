"""A POST's idempotency scope comes from its route template, never from the concrete path."""

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from sangsaeng_common.idempotency import idempotency_scope


def _scopes_seen(*paths: str) -> list[str]:
    app = FastAPI()
    seen: list[str] = []

    @app.post("/visits/{visit_id}/record")
    async def record(visit_id: str, request: Request) -> dict:
        seen.append(idempotency_scope(request))
        return {}

    @app.post("/businesses")
    async def register(request: Request) -> dict:
        seen.append(idempotency_scope(request))
        return {}

    with TestClient(app) as client:
        for path in paths:
            assert client.post(path).status_code == 200
    return seen


def test_the_scope_is_the_method_and_the_route_template_the_same_for_every_id():
    assert _scopes_seen("/visits/a/record", "/visits/b/record") == ["POST /visits/{visit_id}/record"] * 2


def test_a_route_without_parameters_is_its_path():
    assert _scopes_seen("/businesses") == ["POST /businesses"]


class _Unrouted:
    method = "POST"
    scope: dict = {}

    class url:  # noqa: N801 - stands in for starlette's URL
        path = "/somewhere/1"


def test_without_a_matched_route_the_path_stands_in():
    assert idempotency_scope(_Unrouted()) == "POST /somewhere/1"  # type: ignore[arg-type]
