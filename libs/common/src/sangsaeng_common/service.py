"""The composition root every service shares: settings, pool, migrations, topics,
relay, consumers and HTTP API, started and stopped as one process.

    python -m intake serve      # API + relay + consumers (the default deployment)
    python -m intake api        # only the HTTP API
    python -m intake relay      # only the outbox relay (one leader per service)
    python -m intake consume    # only the consumers (scale these out)
    python -m intake republish  # refill a lost broker from the outbox

Service processes run on uvloop, and uvicorn parses HTTP with httptools: both take less
CPU per request and per event than asyncio's own loop and h11 (see BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
import time
from datetime import UTC, datetime
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import asyncpg
import typer
import uvicorn
import uvloop
from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rich.console import Console
from rich.progress import Progress, TextColumn

from sangsaeng_common import failpoints, outbox, tracing
from sangsaeng_common.consumer import EventConsumer, Handlers
from sangsaeng_common.contracts import Event, events_topic
from sangsaeng_common.db import MigrationError, connect, create_pool, is_transient, migrate, role_of, service_migrations
from sangsaeng_common.http import Authenticator, Principal, Problem, document_problems, idempotency_scope, idempotent, install_problem_handlers, install_request_context, require
from sangsaeng_common.kafka import ensure_topics, partition_counts
from sangsaeng_common.ledger_client import LedgerSource, LedgerUnavailable
from sangsaeng_common.logging import configure_logging, get_logger
from sangsaeng_common.outbox import OutboxRelay
from sangsaeng_common.replay import ReadModel, ReplayResult, rebuild
from sangsaeng_common.retry import Backoff
from sangsaeng_common.settings import ServiceSettings
from sangsaeng_common.unit_of_work import UnitOfWork

log = get_logger(__name__)


@dataclass
class ServiceDefinition:
    name: str
    title: str
    description: str
    routes: Callable[[Runtime], Iterable[APIRouter]]
    consumers: list[Handlers] = field(default_factory=list)
    produces: list[type[Event]] = field(default_factory=list)
    # Tables built by the consumers, which a replay rebuilds and compares.
    read_models: list[ReadModel] = field(default_factory=list)
    # Periodic jobs run next to the consumers (the `consume` role), e.g. a timeout sweep:
    # each is called as `task(runtime, stop)` and returns once `stop` is set. Every
    # replica runs them, so a task must be safe to run concurrently (FOR UPDATE SKIP LOCKED).
    tasks: list[Callable[[Runtime, asyncio.Event], Awaitable[None]]] = field(default_factory=list)
    # Topics the service writes besides its own events topic (e.g. per-agency topics),
    # created at start-up like the others.
    extra_topics: list[str] = field(default_factory=list)


class Runtime:
    """What handlers and routes need at run time, built once per process."""

    def __init__(self, settings: ServiceSettings, pool: asyncpg.Pool):
        self.settings = settings
        self.pool = pool
        self._kafka: AIOKafkaClient | None = None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.pool)

    async def command(
        self,
        run: Callable[[UnitOfWork], Awaitable[tuple[int, Any]]],
        *,
        request: Request | None = None,
        scope: str | None = None,
        principal: Principal,
        idempotency_key: str | None,
        request_body: Any,
    ) -> tuple[int, Any]:
        """Run one command in one unit of work, once per Idempotency-Key.

        A key belongs to the caller: the route (e.g. "POST /visits/{visit_id}/record", taken
        from `request`) and the principal together name where it is remembered, so two
        callers can never replay each other's answers."""
        if scope is None:
            assert request is not None, "pass the request (its route names the idempotency scope)"
            scope = idempotency_scope(request)
        async with self.uow() as uow:
            status, payload, _ = await idempotent(
                uow.conn, scope=f"{scope}:{principal.name}", key=idempotency_key, request_body=request_body,
                command=lambda: run(uow),
            )
            await uow.commit()
        return status, payload

    async def database_ready(self) -> bool:
        try:
            async with asyncio.timeout(2):
                return await self.pool.fetchval("select 1") == 1
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    async def broker_ready(self) -> bool:
        try:
            async with asyncio.timeout(2):
                if self._kafka is None:
                    self._kafka = AIOKafkaClient(**self.settings.kafka.client_kwargs(), client_id=f"{self.settings.service_name}-ready")
                    await self._kafka.bootstrap()
                return bool(await self._kafka.fetch_all_metadata())
        except Exception:  # noqa: BLE001
            return False

    async def close(self) -> None:
        if self._kafka is not None:
            with contextlib.suppress(Exception):
                await self._kafka.close()
        await self.pool.close()


def build_app(definition: ServiceDefinition, runtime: Runtime) -> FastAPI:
    app = FastAPI(title=definition.title, description=definition.description, version="1.0.0")
    app.state.service_name = definition.name
    app.state.runtime = runtime
    app.state.authenticator = Authenticator(runtime.settings.auth_tokens)
    install_problem_handlers(app)
    install_request_context(app)

    @app.get("/health", tags=["operations"], summary="The process is alive")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], summary="Database and broker are reachable")
    async def ready() -> JSONResponse:
        database, broker = await asyncio.gather(runtime.database_ready(), runtime.broker_ready())
        body = {"status": "ready" if database and broker else "not ready", "database": database, "broker": broker}
        return JSONResponse(body, status_code=200 if database and broker else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if definition.read_models:

        @app.post(
            "/admin/replay",
            tags=["operations"],
            summary="Rebuild the read models from the log and compare them with the live ones",
            description="Runs this service's own handlers over every event, from Kafka's offset zero (`source=kafka`) or "
            "from the audit ledger (`source=ledger`, read with the caller's own auditor token), into the scratch schema "
            "`<service>_replay` (nothing is published) and compares each read model with the live one. Auditors only.",
            responses={200: {"content": {"application/json": {"example": _REPLAY_EXAMPLE}}},
                       502: {"description": "the audit ledger did not answer (`source=ledger`)"}},
        )
        async def replay(
            source: Annotated[ReplaySource, Query(description="where the events come from")] = ReplaySource.kafka,
            credentials: HTTPAuthorizationCredentials | None = Depends(HTTPBearer(auto_error=False)),
            _: Principal = require("auditor"),
        ) -> dict[str, Any]:
            # The ledger is read with the caller's own token (require() has checked it is an auditor's).
            token = credentials.credentials if credentials else ""
            ledger = LedgerSource(runtime.settings.ledger_url, token) if source is ReplaySource.ledger else None
            try:
                return replay_report(await _replay(definition, runtime.settings, ledger=ledger))
            except LedgerUnavailable as exc:
                raise Problem(502, "The audit ledger did not answer", str(exc)) from None

    routers = list(definition.routes(runtime))
    document_problems(app, [*app.routes, *(route for router in routers for route in router.routes)])
    for router in routers:
        app.include_router(router)
    tracing.instrument_app(app)
    return app


_REPLAY_EXAMPLE = {
    "equal": False,
    "events": 7,
    "seconds": 0.412,
    "events_per_second": 17.0,
    "tables": [
        {"table": "dong_business_counts", "live_rows": 3, "rebuilt_rows": 3, "equal": False, "missing": [], "extra": [],
         "different": [{"key": {"dong": "회기동"}, "columns": {"businesses": {"live": 5, "rebuilt": 1}}}]},
    ],
}


class ReplaySource(StrEnum):
    kafka = "kafka"  # every topic from offset zero
    ledger = "ledger"  # the audit ledger, over its HTTP API


async def _replay(definition: ServiceDefinition, settings: ServiceSettings, **kwargs: Any) -> ReplayResult:
    return await rebuild(
        service=definition.name,
        dsn=settings.database_url,
        kafka=settings.kafka,
        consumers=definition.consumers,
        read_models=definition.read_models,
        **kwargs,
    )


def replay_report(result: ReplayResult) -> dict[str, Any]:
    return {
        "equal": result.equal,
        "events": result.events,
        "seconds": round(result.seconds, 3),
        "events_per_second": round(result.events_per_second, 1),
        "tables": [
            {"table": t.table, "live_rows": t.live_rows, "rebuilt_rows": t.rebuilt_rows, "equal": t.equal,
             "missing": t.missing, "extra": t.extra, "different": t.different}
            for t in result.tables
        ],
    }


async def _retry_until_ready(what: str, action: Callable[[], object]) -> object:
    backoff = Backoff()
    while True:
        try:
            return await action()
        except Exception as exc:
            if not (is_transient(exc) or isinstance(exc, KafkaError)):
                raise
            delay = backoff.next()
            log.warning(f"{what} not reachable yet", error=repr(exc), retry_in_s=round(delay, 2))
            await asyncio.sleep(delay)


async def migrate_schema(definition: ServiceDefinition, settings: ServiceSettings) -> None:
    """Apply the service's migrations: as the schema's owner when MIGRATION_DATABASE_URL
    names one (granting the runtime role of DATABASE_URL what it needs), else as the
    service's own role. A runtime role that finds everything applied changes nothing."""
    owner_dsn = settings.migration_database_url
    conn = await connect(owner_dsn or settings.database_url, settings.schema, f"{settings.service_name}-migrate")
    try:
        await migrate(conn, settings.schema, service_migrations(definition.name), runtime_role=role_of(settings.database_url) if owner_dsn else None)
    except asyncpg.InsufficientPrivilegeError as exc:
        if owner_dsn:
            raise
        raise MigrationError(
            f"{exc}: migrations are pending and {role_of(settings.database_url)} does not own its schema; "
            f"run `python -m {definition.name} migrate` with MIGRATION_DATABASE_URL (the owner's DSN)"
        ) from exc
    finally:
        await conn.close()


def service_topics(definition: ServiceDefinition, settings: ServiceSettings) -> dict[str, int]:
    """Every topic the service writes or reads, with its partition count."""
    topics = {events_topic(definition.name), *definition.extra_topics}
    for handlers in definition.consumers:
        topics.update(handlers.topics)
        topics.add(handlers.dlq_topic)
    return {t: settings.partitions_for(t) for t in sorted(topics)}


async def _republish(definition: ServiceDefinition, settings: ServiceSettings, from_sequence: int,
                     progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Create the missing topics, republish; returns the events per topic and the topics whose
    partition count is not the configured one (a client created them first, e.g. a broker
    that auto-creates topics on a producer's request): per-key order holds on them all the
    same, but fewer partitions bound how far consumers scale out."""
    wanted = service_topics(definition, settings)
    await ensure_topics(settings.kafka, wanted)
    have = await partition_counts(settings.kafka, sorted(wanted))
    mismatched = {t: {"partitions": have.get(t, 0), "configured": n} for t, n in wanted.items() if have.get(t, 0) != n}
    per_topic = await outbox.republish(
        dsn=settings.database_url, schema=settings.schema, kafka=settings.kafka, from_sequence=from_sequence,
        batch_size=settings.relay_batch_size, progress=progress,
    )
    return per_topic, mismatched


async def prepare(definition: ServiceDefinition, settings: ServiceSettings) -> Runtime:
    """Migrate the schema, create the topics, open the pool."""
    await _retry_until_ready("database", lambda: migrate_schema(definition, settings))
    await _retry_until_ready("broker", lambda: ensure_topics(settings.kafka, service_topics(definition, settings)))
    pool = await _retry_until_ready(
        "database",
        lambda: create_pool(settings.database_url, settings.schema, settings.service_name, settings.db_pool_min, settings.db_pool_max),
    )
    return Runtime(settings, pool)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield  # signals are handled by `run` for the whole process


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
    await runtime.close()
    tracing.shutdown()


def cli(definition: ServiceDefinition | Callable[[], ServiceDefinition]) -> typer.Typer:
    """The service's command line; `definition` may be the composition root's `build`."""
    if not isinstance(definition, ServiceDefinition):
        definition = definition()
    app = typer.Typer(help=f"{definition.title}", no_args_is_help=False, add_completion=False)

    @app.command()
    def serve() -> None:
        """HTTP API, outbox relay and consumers in one process."""
        uvloop.run(run(definition, {"api", "relay", "consume"}))

    @app.command()
    def api() -> None:
        """Only the HTTP API."""
        uvloop.run(run(definition, {"api"}))

    @app.command()
    def relay() -> None:
        """Only the outbox relay."""
        uvloop.run(run(definition, {"relay"}))

    @app.command()
    def consume() -> None:
        """Only the event consumers."""
        uvloop.run(run(definition, {"consume"}))

    @app.command("migrate")
    def migrate_command() -> None:
        """Only apply the schema's migrations, then exit.

        E.g. a Kubernetes init container run with MIGRATION_DATABASE_URL, so that the service
        itself never holds the schema owner's role."""
        settings = ServiceSettings(service_name=definition.name)  # type: ignore[call-arg]
        configure_logging(definition.name, settings.log_level)
        asyncio.run(migrate_schema(definition, settings))

    @app.command()
    def republish(
        from_sequence: Annotated[int, typer.Option(help="start at this outbox sequence number (default: the whole outbox)")] = 1,
    ) -> None:
        """Refill the broker from the outbox after it lost its topics: create the topics again (with their partition
        counts) and publish every event from --from-sequence on, in sequence order, with its original ce_id.
        Safe while the service runs (its relay stands by meanwhile); consumers' inboxes absorb the repeats."""
        settings = ServiceSettings(service_name=definition.name)  # type: ignore[call-arg]
        configure_logging(definition.name, "WARNING")
        console = Console(stderr=True)
        started = time.perf_counter()
        with Progress(*Progress.get_default_columns(), TextColumn("{task.completed} events"), console=console) as bar:
            task = bar.add_task(f"republishing {definition.name}", total=None)
            per_topic, mismatched = asyncio.run(
                _republish(definition, settings, from_sequence, lambda done, total: bar.update(task, completed=done, total=total))
            )
        seconds = time.perf_counter() - started
        Console().print_json(json.dumps({"service": definition.name, "from_sequence": from_sequence,
                                         "events": sum(per_topic.values()), "topics": per_topic, "seconds": round(seconds, 3),
                                         "partition_mismatches": mismatched}))
        console.print(f"{sum(per_topic.values())} events republished to {len(per_topic)} topic(s) in {seconds:.2f} s")
        for topic, counts in mismatched.items():
            console.print(f"[yellow]warning:[/] {topic} has {counts['partitions']} partitions, configured {counts['configured']} "
                          "(created before this command ran); raise them with the broker's tools if consumers must scale further")

    if definition.read_models:

        @app.command()
        def replay(
            until: Annotated[datetime | None, typer.Option(help="replay only events up to this time (ISO 8601)")] = None,
            subject: Annotated[str | None, typer.Option(help="replay only this business's events")] = None,
            source: Annotated[ReplaySource, typer.Option(help="Kafka from offset zero, or the audit ledger")] = ReplaySource.kafka,
            ledger_url: Annotated[str | None, typer.Option(help="the audit service (default: LEDGER_URL)")] = None,
            token: Annotated[str | None, typer.Option(envvar="AUDITOR_TOKEN", help="an auditor's token, to read the ledger")] = None,
        ) -> None:
            """Rebuild the read models from the log into a scratch schema and compare them with the live ones."""
            settings = ServiceSettings(service_name=definition.name)  # type: ignore[call-arg]
            configure_logging(definition.name, "WARNING")
            ledger = None
            if source is ReplaySource.ledger:
                if not token:
                    raise typer.BadParameter("reading the ledger needs an auditor's token (--token or AUDITOR_TOKEN)", param_hint="--token")
                ledger = LedgerSource(ledger_url or settings.ledger_url, token)
            console = Console(stderr=True)
            tune_gc()
            try:
                with Progress(*Progress.get_default_columns(), TextColumn("{task.completed} events"), console=console) as bar:
                    task = bar.add_task(f"replaying {definition.name} from {source.value}", total=None)
                    result = asyncio.run(
                        _replay(
                            definition, settings,
                            until=until.replace(tzinfo=until.tzinfo or UTC) if until else None,
                            subject=subject, progress=lambda done, known: bar.update(task, completed=done, total=known),
                            ledger=ledger,
                        )
                    )
            except LedgerUnavailable as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
            Console().print_json(json.dumps(replay_report(result), ensure_ascii=False, default=str))
            console.print(f"{result.events} events in {result.seconds:.2f} s = {result.events_per_second:,.0f} events/s; "
                          + ("read models equal" if result.equal else "read models DIFFER"))
            if until or subject:
                return  # a partial replay shows the past; it is not expected to equal the present
            raise typer.Exit(0 if result.equal else 1)

    return app
