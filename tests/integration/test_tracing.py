"""OpenTelemetry tracing across services: one trace from an HTTP command through the outbox,
Kafka and each consumer to the events it emits, exported over OTLP to a receiver the test
runs; and, unconfigured, no spans at all."""

from __future__ import annotations

import asyncio
import json
import os

import httpx
import pytest

from tests.integration.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.integration.visits_helpers import event_type
from tests.support import STAFF, business_body, eventually, headers_of, headers_of_planner, read_topic, url_for

INTAKE_TOPIC = "sangsaeng.intake.events"
VISITS_TOPIC = "sangsaeng.visits.events"


def _status(span: ReceivedSpan) -> int | None:
    return span.attributes.get("http.response.status_code", span.attributes.get("http.status_code"))


async def _event(bootstrap_servers: str, topic: str, name: str) -> dict[str, str]:
    """The headers of the one `name` event on `topic`, once the relay has published it."""

    async def found() -> list[dict[str, str]]:
        return [h for h in map(headers_of, await read_topic(bootstrap_servers, topic)) if event_type(h) == name]

    (headers,) = await eventually(found, timeout=60, what=f"{name} on {topic}")
    return headers


def _span(receiver: OtlpReceiver, **match: str):
    """A waiter for the one span whose fields equal `match` (e.g. service, kind, parent_span_id)."""

    async def found() -> ReceivedSpan | None:
        spans = [s for s in receiver.received() if all(getattr(s, k) == v for k, v in match.items())]
        assert len(spans) <= 1, spans
        return spans[0] if spans else None

    return eventually(found, timeout=60, what=f"the span {match}")


def assert_message(span: ReceivedSpan, topic: str, headers: dict[str, str]) -> None:
    """OpenTelemetry messaging conventions, and the event's CloudEvents id and correlation id."""
    attributes = span.attributes
    assert attributes["messaging.system"] == "kafka"
    assert attributes["messaging.destination.name"] == topic
    assert attributes["messaging.message.id"] == headers["ce_id"] == attributes["cloudevents.event_id"]
    assert attributes["cloudevents.event_type"] == headers["ce_type"]
    assert attributes["messaging.kafka.message.key"] == headers["ce_subject"]
    assert attributes["sangsaeng.correlation_id"] == headers["ce_correlationid"]


async def test_one_trace_follows_a_command_through_outbox_kafka_and_every_consumer(stack):
    with OtlpReceiver() as receiver:
        intake, visits, _referrals, _audit = await asyncio.gather(
            *(stack.start(service, **receiver.env()) for service in ("intake", "visits", "referrals", "audit"))
        )
        async with httpx.AsyncClient(timeout=15) as client:
            business = (await client.post(url_for(intake, "/businesses"), json=business_body(), headers=STAFF)).json()
            requested = await client.post(url_for(intake, "/support-requests"), headers=STAFF,
                                          json={"business_id": business["id"], "needs": ["consulting"], "channel": "phone"})
            assert requested.status_code == 201, requested.text
            correlation_id = requested.headers["x-correlation-id"]

            # intake: the HTTP server span, named by its route template
            post = await _span(receiver, service="intake", kind="SERVER", name="POST /support-requests")
            assert post.parent_span_id == ""
            assert post.attributes["http.route"] == "/support-requests" and _status(post) == 201
            assert post.attributes["sangsaeng.correlation_id"] == correlation_id

            # intake's relay: publish, child of the request; its context is the Kafka header
            support_requested = await _event(stack.bootstrap_servers, INTAKE_TOPIC, "SupportRequested")
            publish = await _span(receiver, service="intake", kind="PRODUCER", parent_span_id=post.span_id)
            assert (publish.trace_id, publish.name) == (post.trace_id, f"publish {INTAKE_TOPIC}")
            assert_message(publish, INTAKE_TOPIC, support_requested)
            assert support_requested["ce_correlationid"] == correlation_id
            assert publish.is_context_of(support_requested["traceparent"])
            assert publish.attributes["messaging.operation.type"] == "send"

            # visits consumes it under a process span, child of the publish span
            process = await _span(receiver, service="visits", kind="CONSUMER", parent_span_id=publish.span_id)
            assert (process.trace_id, process.name) == (post.trace_id, f"process {INTAKE_TOPIC}")
            assert_message(process, INTAKE_TOPIC, support_requested)
            assert process.attributes["messaging.consumer.group.name"] == "sangsaeng.visits"
            assert process.attributes["messaging.operation.type"] == "process"
            assert process.status != "ERROR"
            where = ("messaging.destination.partition.id", "messaging.kafka.offset")
            assert [publish.attributes[k] for k in where] == [process.attributes[k] for k in where]  # the record the broker acknowledged

            # ... and the VisitScheduled it emitted is published by visits' relay in the same trace
            scheduled = await _event(stack.bootstrap_servers, VISITS_TOPIC, "VisitScheduled")
            assert scheduled["ce_causationid"] == support_requested["ce_id"]
            republish = await _span(receiver, service="visits", kind="PRODUCER", parent_span_id=process.span_id)
            assert republish.trace_id == post.trace_id
            assert_message(republish, VISITS_TOPIC, scheduled)
            assert republish.is_context_of(scheduled["traceparent"])

            # ... which the audit ledger consumes, still the same trace
            ledger = await _span(receiver, service="audit", kind="CONSUMER", parent_span_id=republish.span_id)
            assert ledger.trace_id == post.trace_id
            assert ledger.attributes["messaging.consumer.group.name"] == "sangsaeng.audit"
            assert_message(ledger, VISITS_TOPIC, scheduled)

            # A second command, started in visits: the recorded visit reaches referrals in its own trace.
            (visit,) = json.loads((await client.get(url_for(visits, "/visits"), params={"business_id": business["id"]}, headers=STAFF)).text)
            recorded = await client.post(
                url_for(visits, f"/visits/{visit['id']}/record"), headers=headers_of_planner(visit["planner_id"]),
                json={"planner_id": visit["planner_id"], "visited_on": "2025-05-12", "outcome": "met", "stage_observed": "closing",
                      "needs_identified": ["closure_support"], "notes": "폐업 고민"},
            )
            assert recorded.status_code == 200, recorded.text
            record = await _span(receiver, service="visits", kind="SERVER", name="POST /visits/{visit_id}/record")
            assert record.trace_id != post.trace_id
            visit_recorded = await _event(stack.bootstrap_servers, VISITS_TOPIC, "VisitRecorded")
            sent = await _span(receiver, service="visits", kind="PRODUCER", parent_span_id=record.span_id)
            assert_message(sent, VISITS_TOPIC, visit_recorded)
            referred = await _span(receiver, service="referrals", kind="CONSUMER", parent_span_id=sent.span_id)
            assert referred.trace_id == record.trace_id
            assert referred.attributes["messaging.consumer.group.name"] == "sangsaeng.referrals"
            assert_message(referred, VISITS_TOPIC, visit_recorded)

        # Logs carry the trace: intake's request line names the request's span.
        traced = [line for line in _log_lines(intake) if line.get("message") == "request" and line.get("path") == "/support-requests"]
        assert [(line["trace_id"], line["span_id"]) for line in traced] == [(post.trace_id, post.span_id)]
        # Operational endpoints are not traced.
        assert not [s for s in receiver.received() if s.name.endswith(("/ready", "/health", "/metrics"))]


async def test_unconfigured_tracing_makes_no_spans_and_passes_the_callers_traceparent_on(stack):
    if any(name.startswith("OTEL_") for name in os.environ):
        pytest.skip("the test environment configures OpenTelemetry itself")
    intake, visits = await asyncio.gather(stack.start("intake"), stack.start("visits"))
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with httpx.AsyncClient(timeout=15) as client:
        response = await client.post(url_for(intake, "/businesses"), json=business_body(), headers={**STAFF, "traceparent": caller})
        assert response.status_code == 201, response.text
        registered = await _event(stack.bootstrap_servers, INTAKE_TOPIC, "BusinessRegistered")
        await eventually(lambda: _visits_knows(client, visits, response.json()["id"]), what="the business in visits")

    # No server span and no producer span came between: the header is the caller's, unchanged.
    assert registered["traceparent"] == caller
    for process in (intake, visits):
        assert not [line for line in _log_lines(process) if line.get("message") == "tracing on" or "trace_id" in line]
    assert [line for line in _log_lines(intake) if line.get("message") == "request"]  # the lines looked at exist


def _log_lines(process) -> list[dict]:
    return [json.loads(line) for line in process.log_path.read_text().splitlines() if line.startswith("{")]


async def _visits_knows(client: httpx.AsyncClient, visits, business_id: str) -> bool:
    return (await client.get(url_for(visits, f"/businesses/{business_id}"), headers=STAFF)).status_code == 200
