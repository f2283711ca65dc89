"""Hostile HTTP: schemathesis generates requests from each service's own OpenAPI (valid
and deliberately invalid ones) and sends them to the real services, each with a token of
a role the operation admits (`x-roles` in the OpenAPI). No answer may be a 5xx, and none
may break the service's own documented schema: status code, content type, headers, body.
The one 5xx that is an answer, not a fault: a documented 503 that says the request names a fact
not arrived yet (`retryable: true`, with Retry-After; e.g. loans asked about a business it has
not heard of) — every other 5xx, a dependency's 503 included, fails.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as openapi_checks

from tests.chaos.scale import size
from tests.chaos.everything import start_everything
from tests.conftest import SERVICES
from tests.support import SUBJECT_OF_ROLE, headers_for, url_for

EXAMPLES_PER_OPERATION = size(5, 20)


def not_a_server_error(ctx, response, case):
    """schemathesis' own check, except for the retryable 503 described above."""
    if response.status_code == 503 and "retry-after" in {k.lower() for k in response.headers}:
        try:
            if response.json().get("retryable") is True:
                return True
        except ValueError:
            pass
    return schemathesis.checks.not_a_server_error(ctx, response, case)


CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]


@dataclass
class Tally:
    operations: int = 0
    requests: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # "service METHOD path: check" -> first report
    statuses: Counter = field(default_factory=Counter)


def fuzz_service(service: str, base_url: str, tally: Tally) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    for result in schema.get_all_operations():
        operation = result.ok()
        roles = operation.definition.raw.get("x-roles")
        headers = headers_for(SUBJECT_OF_ROLE[roles[0]]) if roles else {}
        tally.operations += 1
        session = requests.Session()

        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
            )
            def exercise(case) -> None:
                # The operation's own token, whatever was generated for the header.
                case.headers = {**{k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}, **headers}
                tally.requests += 1
                try:
                    response = case.call(base_url=base_url, session=session, timeout=30)
                    tally.statuses[response.status_code] += 1
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except FailureGroup as group:
                    for failure in group.exceptions:
                        key = f"{service} {operation.method.upper()} {operation.path}: {failure.title}"
                        tally.failures.setdefault(key, str(group)[:3000])

            try:
                exercise()
            except hypothesis.errors.Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # no input to get wrong (e.g. GET /health)


@pytest.mark.timeout(size(900, 5400))
async def test_no_operation_answers_5xx_or_breaks_its_own_schema(stack):
    all_services = await start_everything(stack)
    tally = Tally()
    for service in SERVICES:
        await asyncio.to_thread(fuzz_service, service, url_for(all_services[service], ""), tally)
    print(f"\nschemathesis: {tally.operations} operations, {tally.requests} requests, "
          f"{EXAMPLES_PER_OPERATION} examples per operation and mode; statuses {dict(sorted(tally.statuses.items()))}")
    assert not tally.failures, "\n\n".join(f"{key}\n{report}" for key, report in tally.failures.items())
    assert tally.operations >= 40 and tally.statuses[401] == 0  # every request carried a token its operation admits
