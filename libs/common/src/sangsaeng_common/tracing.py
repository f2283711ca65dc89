"""OpenTelemetry tracing across HTTP → outbox → Kafka → consumer; off unless configured.

One trace follows a command through every service: the HTTP server span's context is
stored with the command's events in the outbox (`traceparent`), the relay publishes each
event under a `publish` (producer) span that is its child and puts the producer span's
context in the Kafka header, and each consumer processes the event under a `process`
(consumer) span whose parent is that header; the events the handler emits carry the
`process` span's context, and so on downstream.

Configured with the standard OTEL_* variables: tracing is on when an OTLP endpoint is
given (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or an exporter
is named (OTEL_TRACES_EXPORTER=otlp|console), unless OTEL_SDK_DISABLED=true or
OTEL_TRACES_EXPORTER=none. The SDK reads the rest itself: OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*, OTEL_EXPORTER_OTLP_*
(headers, timeout, compression). OTLP goes over HTTP/protobuf.

Off, nothing of the SDK is built: every hook below returns at its first check, and events
keep passing on the `traceparent` they were given (the caller's, or a fresh one).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_tracer: Tracer | None = None
_provider: Any = None  # the SDK TracerProvider, when tracing is on
_propagator = TraceContextTextMapPropagator()
_suppressed: ContextVar[bool] = ContextVar("tracing_suppressed", default=False)
_NO_SPAN = contextlib.nullcontext()

CORRELATION_ID = "sangsaeng.correlation_id"

# The OTEL_* variables a deployment may set for these services (the deploy checks hold
# manifests to this list); the SDK documents them.
ENVIRONMENT = frozenset({
    "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_EXPORT_TIMEOUT",
})


def wanted(env: Mapping[str, str] = os.environ) -> bool:
    """Whether the OTEL_* environment asks for traces to be exported."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def enabled() -> bool:
    return _tracer is not None


def configure(service: str, env: Mapping[str, str] = os.environ) -> bool:
    """Build the SDK pipeline (provider, batch processor, exporter) if the environment
    asks for it; returns whether tracing is on. Called once per process."""
    global _tracer, _provider
    if _tracer is not None or not wanted(env):
        return _tracer is not None
    # Imported here: a process without tracing never loads the SDK or the exporter.
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: env.get("OTEL_SERVICE_NAME") or service}))
    for name in (env.get("OTEL_TRACES_EXPORTER") or "otlp").split(","):
        provider.add_span_processor(BatchSpanProcessor(_exporter(name.strip().lower(), env)))
    trace.set_tracer_provider(provider)
    _provider = provider
    _tracer = provider.get_tracer("sangsaeng")
    return True


def _exporter(name: str, env: Mapping[str, str]) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: supported are otlp, console, none")
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if protocol != "http/protobuf":
        raise ValueError(f"OTLP protocol {protocol!r}: this build exports over http/protobuf (a collector's port 4318)")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout and compression from OTEL_EXPORTER_OTLP_*


def shutdown(timeout_s: float = 5.0) -> None:
    """Export what is still buffered; called when the process stops. Bounded: an unreachable
    collector costs the spans, never the graceful stop's time budget."""
    if _provider is not None:
        flushing = threading.Thread(target=_provider.shutdown, name="tracing-shutdown", daemon=True)
        flushing.start()
        flushing.join(timeout_s)


# ---------------------------------------------------------------- HTTP


def instrument_app(app: Any) -> None:
    """A server span per request, named by method and route template (`POST /businesses/{business_id}/stage`),
    continuing an incoming `traceparent`. Operational endpoints are not traced."""
    if _tracer is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls="/health$,/ready$,/metrics$", exclude_spans=["receive", "send"]
    )


def annotate(correlation_id: str) -> None:
    """Put the correlation id on the current span (the request's or the event's)."""
    if _tracer is not None:
        trace.get_current_span().set_attribute(CORRELATION_ID, correlation_id)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to store with the events it causes;
    None when tracing is off or no span is current."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


# ---------------------------------------------------------------- messaging


def _message_attributes(topic: str, headers: Mapping[str, str]) -> dict[str, Any]:
    """OpenTelemetry messaging semantic conventions, plus the CloudEvents context."""
    attributes = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.message.id": headers.get("ce_id", ""),
        "cloudevents.event_id": headers.get("ce_id", ""),
        "cloudevents.event_type": headers.get("ce_type", ""),
        "cloudevents.event_source": headers.get("ce_source", ""),
        "cloudevents.event_subject": headers.get("ce_subject", ""),
    }
    if headers.get("ce_correlationid"):
        attributes[CORRELATION_ID] = headers["ce_correlationid"]
    return attributes


def start_publish(topic: str, key: str, headers: Mapping[str, str]) -> tuple[Span | None, Mapping[str, str]]:
    """Open the producer span of one outbox row, a child of the traceparent stored with it;
    returns the span and the headers to send, whose traceparent is now the span's."""
    if _tracer is None:
        return None, headers
    span = _tracer.start_span(
        f"publish {topic}",
        context=_propagator.extract(headers),
        kind=SpanKind.PRODUCER,
        attributes={
            **_message_attributes(topic, headers),
            "messaging.operation.type": "send",
            "messaging.operation.name": "publish",
            "messaging.kafka.message.key": key,
        },
    )
    sent: MutableMapping[str, str] = dict(headers)
    _propagator.inject(sent, context=trace.set_span_in_context(span))
    return span, sent


def end_when_sent(span: Span | None, delivery: Any) -> None:
    """End the producer span when the broker acknowledged (or refused) the record."""
    if span is None:
        return

    def done(future: Any) -> None:
        if future.cancelled():
            span.set_status(Status(StatusCode.ERROR, "cancelled"))
        elif (error := future.exception()) is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, repr(error)))
        else:
            metadata = future.result()
            span.set_attribute("messaging.destination.partition.id", str(metadata.partition))
            span.set_attribute("messaging.kafka.offset", metadata.offset)
        span.end()

    delivery.add_done_callback(done)


def processing(group: str, record: Any, envelope: Any) -> contextlib.AbstractContextManager[Any]:
    """The consumer span around one event's handler (`record` from Kafka, its `envelope`),
    a child of the event's traceparent; events the handler emits carry this span's context."""
    if _tracer is None or _suppressed.get():
        return _NO_SPAN
    return _tracer.start_as_current_span(**_process_span(group, record, envelope))


@contextlib.contextmanager
def processing_run(group: str, events: list[tuple[Any, Any]]) -> Iterator[None]:
    """The consumer spans around a batch handler's run of events, (record, envelope) each:
    one per event, a child of that event's own traceparent, so every trace shows the
    consumer that applied its event; all last as long as the run. The first is current
    (what the handler emits carries its context)."""
    if _tracer is None or _suppressed.get():
        yield
        return
    others = [_tracer.start_span(**_process_span(group, record, envelope)) for record, envelope in events[1:]]
    try:
        with processing(group, *events[0]):
            yield
    finally:
        for span in others:
            span.end()


def _process_span(group: str, record: Any, envelope: Any) -> dict[str, Any]:
    headers = envelope.headers()
    if "tracestate" in envelope.extra_headers:
        headers["tracestate"] = envelope.extra_headers["tracestate"]
    return {
        "name": f"process {record.topic}",
        "context": _propagator.extract(headers),
        "kind": SpanKind.CONSUMER,
        "attributes": {
            **_message_attributes(record.topic, headers),
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.consumer.group.name": group,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.kafka.message.key": (record.key or b"").decode(errors="replace"),
        },
    }


def failed(error: BaseException) -> None:
    """Mark the current span failed (a handler whose event goes to the dead-letter topic)."""
    if _tracer is not None:
        span = trace.get_current_span()
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, repr(error)))


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """No consumer spans inside (a replay re-runs old events: they are not new work in old traces)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


# ---------------------------------------------------------------- logs


def add_trace_ids(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the current trace_id and span_id on every log line (tracing on)."""
    if _tracer is not None:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event_dict["trace_id"] = trace.format_trace_id(context.trace_id)
            event_dict["span_id"] = trace.format_span_id(context.span_id)
    return event_dict
