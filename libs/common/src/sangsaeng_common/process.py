"""One service process: its roles (API, relay, consumers and their tasks) started together
and stopped gracefully on SIGTERM/SIGINT.

Service processes run on uvloop, and uvicorn parses HTTP with httptools: both take less
CPU per request and per event than asyncio's own loop and h11 (see BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal

import uvicorn

from sangsaeng_common import failpoints, tracing
from sangsaeng_common.app import build_app
from sangsaeng_common.consumer import EventConsumer
from sangsaeng_common.logging import configure_logging, get_logger
from sangsaeng_common.outbox import OutboxRelay
from sangsaeng_common.provisioning import prepare
from sangsaeng_common.retry import Backoff
from sangsaeng_common.runtime import ServiceDefinition, open_resources
from sangsaeng_common.settings import ServiceSettings

log = get_logger(__name__)


class _Server(uvicorn.Server):
    """uvicorn's server, woken once a second instead of ten times (its main loop polls
    `should_exit` every 0.1 s: most of an idle API's wake-ups), and at once when told to exit."""

    _exit: asyncio.Event | None = None

    @property  # type: ignore[override]
    def should_exit(self) -> bool:
        return self._exit is not None and self._exit.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if self._exit is None:
            self._exit = asyncio.Event()
        if value:
            self._exit.set()
        else:
            self._exit.clear()

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield  # signals are handled by `run` for the whole process

    async def main_loop(self) -> None:
        # on_tick refreshes the Date header when its counter is a multiple of 10: every tick here.
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864_000
            assert self._exit is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), 1.0)


def tune_gc() -> None:
    """Call once start-up has built what lives as long as the process (modules, contracts,
    the app). A service allocates many short-lived objects per request and event (records,
    envelopes, models, rows) and keeps little: freezing the start-up heap takes it out of
    every later collection, and a larger young generation collects less often. Decoding a
    consumed event took about a quarter less CPU (bench/decode_rate.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


async def run(definition: ServiceDefinition, roles: set[str]) -> None:
    settings = ServiceSettings(service_name=definition.name)  # type: ignore[call-arg]
    configure_logging(definition.name, settings.log_level)
    if tracing.configure(definition.name):
        log.info("tracing on", exporter=os.environ.get("OTEL_TRACES_EXPORTER", "otlp"))
    failpoints.configure(settings.sangsaeng_failpoints)
    runtime = await prepare(definition, settings)
    resources = contextlib.AsyncExitStack()
    await resources.enter_async_context(open_resources(definition, settings))
    tune_gc()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    relay = OutboxRelay(
        dsn=settings.database_url,
        schema=settings.schema,
        kafka=settings.kafka,
        batch_size=settings.relay_batch_size,
        idle_check_s=settings.relay_idle_check_s,
        standby_retry_s=settings.relay_standby_retry_s,
        backoff=Backoff(settings.retry_initial_s, settings.retry_max_s),
    )
    consumers = [
        EventConsumer(
            handlers,
            pool=runtime.pool,
            kafka=settings.kafka,
            max_records=settings.consumer_max_records,
            session_timeout_ms=settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=settings.consumer_heartbeat_ms,
            fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
            idle_rest_s=settings.consumer_idle_rest_s,
            idle_after_s=settings.consumer_idle_after_s,
            backoff_initial_s=settings.retry_initial_s,
            backoff_max_s=settings.retry_max_s,
        )
        for handlers in definition.consumers
    ]
    server = None
    tasks: list[asyncio.Task] = []
    if "relay" in roles:
        tasks.append(asyncio.create_task(relay.run(), name="relay"))
    if "consume" in roles:
        runtime.consumers = consumers  # /ready waits for their partitions
        tasks += [asyncio.create_task(c.run(), name=f"consumer:{c.handlers.consumer}") for c in consumers]
        tasks += [asyncio.create_task(t(runtime, stop), name=f"task:{getattr(t, '__name__', 'task')}") for t in definition.tasks]
    if "api" in roles:
        app = build_app(definition, runtime)
        server = _Server(uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False,
                                         timeout_keep_alive=settings.http_keepalive_s))
        tasks.append(asyncio.create_task(server.serve(), name="http"))
    log.info("service started", roles=sorted(roles), port=settings.http_port if server else None)

    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopper and task.exception():
            log.error("component failed", component=task.get_name(), error=repr(task.exception()))

    # Graceful stop: the API stops taking requests, consumers finish the batch in hand
    # and commit its offset, the relay finishes marking what it published.
    log.info("stopping")
    if server is not None:
        server.should_exit = True
    relay.stop()
    for consumer in consumers:
        consumer.stop()
    _, pending = await asyncio.wait(tasks, timeout=15)
    for task in pending:
        task.cancel()
    await resources.aclose()
    await runtime.close()
    tracing.shutdown()
