"""What tracing costs per event, off and on: the relay's publish span, the consumer's
process span and the traceparent an emitted event stores (sangsaeng_common.tracing), with
the spans exported over OTLP/HTTP to a local sink that answers 200.

    .venv/bin/python bench/tracing_overhead.py [--events 20000]

Each mode runs in its own interpreter (the SDK is configured once per process). Prints
wall time and CPU per event: CPU on the calling thread (the event loop's, in a service)
and in all threads (with the batch processor's export).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_MEASURE = """
import datetime, json, sys, time, uuid
from aiokafka.structs import ConsumerRecord
from sangsaeng_common import tracing
from sangsaeng_common.contracts.intake import BusinessErased
from sangsaeng_common.envelope import Envelope

class Acknowledged:  # a delivery the broker has acknowledged
    partition, offset = 0, 7
    def add_done_callback(self, callback): callback(self)
    def cancelled(self): return False
    def exception(self): return None
    def result(self): return self

events = int(sys.argv[1])
tracing.configure("bench")
envelope = Envelope.wrap(BusinessErased(business_id=uuid.uuid4(), erased_at=datetime.datetime.now(datetime.UTC)))
stored = envelope.headers()
record = ConsumerRecord("sangsaeng.intake.events", 0, 7, 0, 0, envelope.key, envelope.data, None, 0, 0, envelope.kafka_headers())
wall, cpu, thread_cpu = time.perf_counter(), time.process_time(), time.thread_time()
for _ in range(events):
    span, headers = tracing.start_publish(record.topic, envelope.subject, stored)
    tracing.end_when_sent(span, Acknowledged())
    with tracing.processing("sangsaeng.visits", record, envelope):
        tracing.current_traceparent()
wall, thread_cpu = time.perf_counter() - wall, time.thread_time() - thread_cpu
tracing.shutdown(120)
cpu = time.process_time() - cpu
print(json.dumps({"on": tracing.enabled(), "wall_us": wall / events * 1e6, "thread_cpu_us": thread_cpu / events * 1e6, "cpu_us": cpu / events * 1e6}))
"""


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def measure(events: int, env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(events)], env={**clean, **env}, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(events: int) -> None:
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    # The queue holds every span of the run, so none is dropped and all are exported.
    on = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_MAX_QUEUE_SIZE": str(2 * events + 1)}
    for mode, env in (("off", {}), ("on", on)):
        got = measure(events, env)
        assert got["on"] is (mode == "on")
        print(f"tracing {mode:3}: per event (publish span + process span + stored traceparent) "
              f"wall {got['wall_us']:8.1f} µs, CPU on the calling thread {got['thread_cpu_us']:7.1f} µs, "
              f"CPU in all threads incl. export {got['cpu_us']:7.1f} µs")
    sink.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    main(parser.parse_args().events)
