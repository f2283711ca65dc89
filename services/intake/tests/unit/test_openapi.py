"""OpenAPI (served at /docs) describes every endpoint, with examples of what goes in and out."""

from __future__ import annotations

import pytest

from intake.bootstrap import build
from sangsaeng_common.app import build_app
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.settings import ServiceSettings

OPERATIONS = {
    ("post", "/businesses"), ("get", "/businesses"), ("get", "/businesses/{business_id}"),
    ("post", "/businesses/{business_id}/stage"), ("post", "/businesses/{business_id}/owners"),
    ("get", "/businesses/{business_id}/owners"), ("post", "/businesses/{business_id}/consents"),
    ("get", "/businesses/{business_id}/consents"), ("post", "/businesses/{business_id}/consents/{consent_id}/withdraw"),
    ("post", "/businesses/{business_id}/erasure"), ("post", "/support-requests"), ("get", "/support-requests"),
    ("get", "/support-requests/{request_id}"), ("get", "/businesses/{business_id}/timeline"),
    ("patch", "/businesses/{business_id}"), ("get", "/support-requests/{request_id}/steps"),
    ("post", "/support-requests/{request_id}/assign"), ("post", "/support-requests/{request_id}/start"),
    ("post", "/support-requests/{request_id}/resolve"), ("post", "/support-requests/{request_id}/close"),
}


@pytest.fixture(scope="module")
def spec() -> dict:
    settings = ServiceSettings(service_name="intake", database_url="postgresql://unused@127.0.0.1/unused")  # type: ignore[call-arg]
    return build_app(build(), Runtime(settings, pool=None)).openapi()  # type: ignore[arg-type]


def _schema(spec: dict, ref_or_schema: dict) -> dict:
    if "$ref" in ref_or_schema:
        return spec["components"]["schemas"][ref_or_schema["$ref"].rsplit("/", 1)[-1]]
    if ref_or_schema.get("type") == "array":
        return _schema(spec, ref_or_schema["items"])
    if "anyOf" in ref_or_schema:
        return _schema(spec, next(s for s in ref_or_schema["anyOf"] if s.get("type") != "null"))
    return ref_or_schema


def _domain_operations(spec: dict):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if path not in ("/health", "/ready", "/metrics") and not path.startswith("/admin/"):  # every service's operations endpoints
                yield method, path, operation


def test_every_endpoint_is_described(spec):
    assert {(m, p) for m, p, _ in _domain_operations(spec)} == OPERATIONS


def test_every_body_and_answer_has_an_example_and_errors_are_problems(spec):
    for method, path, operation in _domain_operations(spec):
        assert operation.get("summary"), (method, path)
        if "requestBody" in operation:
            body = _schema(spec, operation["requestBody"]["content"]["application/json"]["schema"])
            assert body.get("examples"), (method, path, "request")
        success = next(code for code in operation["responses"] if code.startswith("2"))
        answer = _schema(spec, operation["responses"][success]["content"]["application/json"]["schema"])
        assert answer.get("examples"), (method, path, "response")
        for code in ("401", "403"):
            assert operation["responses"][code]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/ProblemOut")
        if method == "post":
            names = {p["name"] for p in operation.get("parameters", [])}
            assert "Idempotency-Key" in names, (method, path)
