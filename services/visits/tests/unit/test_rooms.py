"""The composition root and the rooms: no I/O needed."""

import re
from importlib import resources

from sangsaeng_common.contracts.intake import (
    BusinessDetailsChanged, BusinessErased, BusinessRegistered, BusinessStageChanged, SupportRequested,
)
from sangsaeng_common.app import build_app
from sangsaeng_common.runtime import Runtime
from sangsaeng_common.settings import ServiceSettings
from visits.bootstrap import build

OPERATIONS = {
    ("get", "/businesses/{business_id}"), ("get", "/planners"), ("get", "/planners/{planner_id}/route"),
    ("get", "/planners/{planner_id}/follow-ups"), ("post", "/visits"), ("get", "/visits"), ("get", "/visits/{visit_id}"),
    ("post", "/visits/{visit_id}/record"), ("post", "/visits/{visit_id}/cancel"), ("post", "/visits/{visit_id}/reassign"),
    ("post", "/visits/{visit_id}/follow-ups/{position}/done"), ("get", "/reports/visits"),
}


def test_build_wires_a_fresh_service_each_time(monkeypatch):
    monkeypatch.setenv("VISITS_LEAD_DAYS", "3")
    first, second = build(), build()
    assert first.name == "visits" and first.consumers[0].consumer == "visits"
    assert first.consumers[0] is not second.consumers[0]  # no module-level registry or cached policy
    handlers = first.consumers[0]
    assert set(handlers.by_type) == {BusinessRegistered, BusinessDetailsChanged, BusinessStageChanged, BusinessErased, SupportRequested}
    assert handlers.by_type[BusinessRegistered] in handlers.batched  # the shared directory's batch handler
    assert [m.table for m in first.read_models] == ["businesses", "business_stage_history", "dong_business_counts"]


def test_every_route_is_served():
    settings = ServiceSettings(service_name="visits", database_url="postgresql://unused@127.0.0.1/unused")  # type: ignore[call-arg]
    spec = build_app(build(), Runtime(settings, pool=None)).openapi()  # type: ignore[arg-type]
    served = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert OPERATIONS <= served


def test_sql_lives_only_in_the_adapters():
    sql = re.compile(r"\b(select|insert|update|delete)\b .*\b(from|into|set|where)\b", re.IGNORECASE)
    package = resources.files("visits")
    outside = [
        f"{path}:{n}"
        for path in _python_files(package)
        if "adapters" not in path.parts and "migrations" not in path.parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if sql.search(line)
    ]
    assert outside == []


def _python_files(root):
    for entry in root.iterdir():
        if entry.is_dir():
            yield from _python_files(entry)
        elif entry.name.endswith(".py"):
            yield entry
