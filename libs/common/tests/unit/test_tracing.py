"""When tracing is on, and that off it builds nothing. Each case runs in a fresh interpreter:
OpenTelemetry's global tracer provider can be set only once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sangsaeng_common.tracing import wanted


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "intake", "OTEL_TRACES_SAMPLER": "always_on"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
    ],
)
def test_tracing_is_on_only_when_an_exporter_or_endpoint_is_configured(env, on):
    assert wanted(env) is on


_PROBE = """
import json, sys
from aiokafka.structs import ConsumerRecord
from opentelemetry import trace
from sangsaeng_common import tracing
from sangsaeng_common.contracts.intake import BusinessErased
from sangsaeng_common.envelope import Envelope
import datetime, uuid

on = tracing.configure("intake")
envelope = Envelope.wrap(BusinessErased(business_id=uuid.uuid4(), erased_at=datetime.datetime.now(datetime.UTC)))
record = ConsumerRecord("sangsaeng.intake.events", 0, 7, 0, 0, envelope.key, envelope.data, None, 0, 0, envelope.kafka_headers())
span, headers = tracing.start_publish(record.topic, envelope.subject, envelope.headers())
with tracing.processing("sangsaeng.visits", record, Envelope.from_kafka([(k, v.encode()) for k, v in headers.items()], envelope.data)):
    inside = tracing.current_traceparent()
tracing.shutdown()  # the console exporter prints the spans before the answer
print(json.dumps({
    "on": on,
    "sdk_loaded": "opentelemetry.sdk.trace" in sys.modules,
    "provider": type(trace.get_tracer_provider()).__name__,
    "stored": envelope.traceparent,
    "sent": headers["traceparent"],
    "inside": inside,
    "span": span is not None,
}))
"""


def _probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", _PROBE], env={**clean, **env}, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_unconfigured_tracing_loads_no_sdk_and_leaves_the_traceparent_alone():
    probe = _probe()
    assert probe == {
        "on": False, "sdk_loaded": False, "provider": "ProxyTracerProvider",
        "stored": probe["stored"], "sent": probe["stored"], "inside": None, "span": False,
    }


def test_configured_tracing_makes_the_producer_span_a_child_of_the_stored_context_and_the_consumer_span_of_the_header():
    probe = _probe(OTEL_TRACES_EXPORTER="console")
    assert (probe["on"], probe["sdk_loaded"], probe["provider"], probe["span"]) == (True, True, "TracerProvider", True)
    _, stored_trace, stored_span, _ = probe["stored"].split("-")
    _, sent_trace, sent_span, _ = probe["sent"].split("-")
    _, inside_trace, inside_span, _ = probe["inside"].split("-")
    assert stored_trace == sent_trace == inside_trace  # one trace
    assert len({stored_span, sent_span, inside_span}) == 3  # a new span at each hop


def test_an_unsupported_otlp_protocol_is_refused_at_start():
    with pytest.raises(subprocess.CalledProcessError) as refused:
        _probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4317", OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
    assert "http/protobuf" in refused.value.stderr


_RUN_PROBE = """
import datetime, json, uuid
from aiokafka.structs import ConsumerRecord
from sangsaeng_common import tracing
from sangsaeng_common.contracts.intake import BusinessErased
from sangsaeng_common.envelope import Envelope

tracing.configure("visits")
run, published = [], {}
for offset in range(3):  # three events of three traces, applied by a batch handler in one run
    envelope = Envelope.wrap(BusinessErased(business_id=uuid.uuid4(), erased_at=datetime.datetime.now(datetime.UTC)))
    span, headers = tracing.start_publish("sangsaeng.intake.events", envelope.subject, envelope.headers())
    span.end()
    sent = Envelope.from_kafka([(k, v.encode()) for k, v in headers.items()], envelope.data)
    run.append((ConsumerRecord("sangsaeng.intake.events", 0, offset, 0, 0, envelope.key, envelope.data, None, 0, 0, []), sent))
    published[offset] = headers["traceparent"].split("-")[2]
with tracing.processing_run("sangsaeng.visits", run):
    inside = tracing.current_traceparent()
tracing.shutdown()
print("PROBE " + json.dumps({"published": published, "inside": inside}))
"""


def test_a_batch_run_gives_every_event_its_own_consumer_span_in_its_own_trace():
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", _RUN_PROBE], env={**clean, "OTEL_TRACES_EXPORTER": "console"},
                          capture_output=True, text=True, timeout=60, check=True)
    printed, probe = done.stdout.split("PROBE ")
    decoder, spans, at = json.JSONDecoder(), [], 0
    while (at := printed.find("{", at)) != -1:  # the console exporter prints one JSON object a span
        span, end = decoder.raw_decode(printed, at)
        spans.append(span)
        at = end
    probe = json.loads(probe)
    consumer = [s for s in spans if s["kind"] == "SpanKind.CONSUMER"]
    assert sorted(s["attributes"]["messaging.kafka.offset"] for s in consumer) == [0, 1, 2]
    for s in consumer:  # each the child of its own event's publish span
        assert s["parent_id"] == "0x" + probe["published"][str(s["attributes"]["messaging.kafka.offset"])]
    first = next(s for s in consumer if s["attributes"]["messaging.kafka.offset"] == 0)
    assert probe["inside"].split("-")[2] == first["context"]["span_id"][2:]  # the first is current
