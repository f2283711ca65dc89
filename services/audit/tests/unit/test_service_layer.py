"""The service layer answers with domain errors (the entrypoints map them), the composition
root builds the service afresh each time, and the moment asked about comes from the clock."""

from datetime import UTC, datetime, timedelta

import pytest

from audit import bootstrap
from audit.adapters import queries
from audit.config import AuditSettings
from audit.entrypoints.consumers import EVERY_EVENTS_TOPIC
from audit.service_layer import handlers
from audit.service_layer.commands import ApplicationAt
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.errors import Invalid, NotFound
from sangsaeng_common.http import Problem, problem_of


def test_an_unknown_period_is_invalid_and_maps_to_the_same_problem_as_before():
    with pytest.raises(Invalid) as raised:
        handlers.period_of("2025H3")
    assert raised.value.errors == [("period", "a period is YYYYH1, YYYYH2, YYYYQ1..Q4, YYYY-MM or YYYY")]
    mapped, before = problem_of(raised.value), Problem.invalid("period", "a period is YYYYH1, YYYYH2, YYYYQ1..Q4, YYYY-MM or YYYY")
    assert (mapped.status, mapped.title, mapped.detail, mapped.errors) == (before.status, before.title, before.detail, before.errors)


async def test_an_application_unknown_at_the_clocks_now_is_not_found(monkeypatch):
    asked = {}

    async def no_events(conn, application_id, until):
        asked.update(application_id=application_id, until=until)
        return []

    monkeypatch.setattr(queries, "application_events", no_events)
    clock = SeoulClock(offset_days=-1)
    before = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(NotFound) as raised:
        await handlers.application_at(None, ApplicationAt("a1"), clock=clock)
    assert raised.value.title == "No such application at that time"
    assert raised.value.detail == f"the ledger has no event of application a1 up to {asked['until'].isoformat()}"
    assert asked["application_id"] == "a1" and before <= asked["until"] <= datetime.now(UTC) - timedelta(days=1) + timedelta(seconds=5)
    assert problem_of(raised.value).status == 404


def test_the_composition_root_builds_a_fresh_definition_each_time():
    first, second = bootstrap.build(AuditSettings()), bootstrap.build(AuditSettings())
    assert first.name == "audit" and first is not second
    assert [h.topic_pattern for h in first.consumers] == [EVERY_EVENTS_TOPIC]
    assert first.consumers[0] is not second.consumers[0]
    assert not hasattr(bootstrap, "definition")
