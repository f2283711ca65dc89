"""The command line every service shares, built from its composition root's `build`:

    python -m <service> serve      # API + relay + consumers (the default deployment)
    python -m <service> api        # only the HTTP API
    python -m <service> relay      # only the outbox relay (one leader per service)
    python -m <service> consume    # only the consumers (scale these out)
    python -m <service> migrate    # only the schema's migrations
    python -m <service> republish  # refill a lost broker from the outbox
    python -m <service> replay     # rebuild the read models and compare them (if it has any)
    python -m <service> dlq list|show|redrive|discard   # its consumers' dead letters (if it has any)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
import uvloop
from rich.console import Console
from rich.progress import Progress, TextColumn

from sangsaeng_common import dead_letters, failpoints
from sangsaeng_common.contracts.operations import DiscardReason
from sangsaeng_common.db import create_pool
from sangsaeng_common.errors import DomainError
from sangsaeng_common.logging import configure_logging
from sangsaeng_common.process import run, tune_gc
from sangsaeng_common.provisioning import migrate_schema, republish as republish_outbox
from sangsaeng_common.recorded_events_feed import FeedUnavailable
from sangsaeng_common.replay import ReplayResult, ReplaySource, event_source, replay_report, replay_service
from sangsaeng_common.runtime import ServiceDefinition, open_resources
from sangsaeng_common.settings import ServiceSettings


async def _replay_alone(definition: ServiceDefinition, settings: ServiceSettings, **kwargs: Any) -> ReplayResult:
    """A replay in a process of its own, inside the definition's resources (a running
    service's /admin/replay finds them open already)."""
    async with open_resources(definition, settings):
        return await replay_service(definition, settings, **kwargs)


def cli(build: Callable[[], ServiceDefinition]) -> typer.Typer:
    """The service's command line, from its composition root's `build`."""
    definition = build()
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
        configure_logging(definition.name, "WARNING", sys.stderr)  # stdout is the JSON answer
        console = Console(stderr=True)
        started = time.perf_counter()
        with Progress(*Progress.get_default_columns(), TextColumn("{task.completed} events"), console=console) as bar:
            task = bar.add_task(f"republishing {definition.name}", total=None)
            per_topic, mismatched = asyncio.run(
                republish_outbox(definition, settings, from_sequence, lambda done, total: bar.update(task, completed=done, total=total))
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
            source: Annotated[ReplaySource, typer.Option(help="Kafka from offset zero, or the recorded events feed")] = ReplaySource.kafka,
            feed_url: Annotated[str | None, typer.Option("--feed-url", "--ledger-url", help="the recorded events feed (default: EVENTS_FEED_URL)")] = None,
            token: Annotated[str | None, typer.Option(envvar=["EVENTS_FEED_TOKEN", "AUDITOR_TOKEN"], help="a bearer token the feed accepts (an auditor's)")] = None,
        ) -> None:
            """Rebuild the read models from the log into a scratch schema and compare them with the live ones."""
            settings = ServiceSettings(service_name=definition.name)  # type: ignore[call-arg]
            configure_logging(definition.name, "WARNING", sys.stderr)  # stdout is the JSON answer
            failpoints.configure(settings.sangsaeng_failpoints)  # the fault tests' handler bug, as in the service
            if source is ReplaySource.ledger and not token:
                raise typer.BadParameter("reading the feed needs a token it accepts (--token, EVENTS_FEED_TOKEN or AUDITOR_TOKEN)", param_hint="--token")
            events = event_source(source, settings, token=token or "", url=feed_url)
            console = Console(stderr=True)
            tune_gc()
            try:
                with Progress(*Progress.get_default_columns(), TextColumn("{task.completed} events"), console=console) as bar:
                    task = bar.add_task(f"replaying {definition.name} from {source.value}", total=None)
                    result = asyncio.run(
                        _replay_alone(
                            definition, settings, source=events,
                            until=until.replace(tzinfo=until.tzinfo or UTC) if until else None,
                            subject=subject, progress=lambda done, known: bar.update(task, completed=done, total=known),
                        )
                    )
            except FeedUnavailable as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
            Console().print_json(json.dumps(replay_report(result), ensure_ascii=False, default=str))
            console.print(f"{result.events} events in {result.seconds:.2f} s = {result.events_per_second:,.0f} events/s; "
                          + ("read models equal" if result.equal else "read models DIFFER"))
            if until or subject:
                return  # a partial replay shows the past; it is not expected to equal the present
            raise typer.Exit(0 if result.equal else 1)

    if definition.consumers:
        app.add_typer(dlq_cli(definition), name="dlq")

    return app


def dlq_cli(definition: ServiceDefinition) -> typer.Typer:
    """`python -m <service> dlq …`: the same work as /admin/dead-letters, straight on the
    service's database (run as the service's role, e.g. `kubectl exec`)."""
    app = typer.Typer(help="Dead letters of this service's consumers: list, show, redrive, discard.", no_args_is_help=True)
    consumers = [h.consumer for h in definition.consumers]

    def work(job: Callable[[Any, ServiceSettings], Any]) -> Any:
        settings = ServiceSettings(service_name=definition.name)  # type: ignore[call-arg]
        configure_logging(definition.name, "ERROR", sys.stderr)  # stdout is the JSON answer
        failpoints.configure(settings.sangsaeng_failpoints)

        async def go() -> Any:
            pool = await create_pool(settings.database_url, settings.schema, f"{definition.name}-dlq-cli", min_size=1, max_size=4)
            try:
                async with open_resources(definition, settings):
                    return await job(pool, settings)
            finally:
                await pool.close()

        try:
            return asyncio.run(go())
        except DomainError as exc:
            Console(stderr=True).print(f"[red]{exc.title}[/red]: {exc.detail or ''}")
            raise typer.Exit(1) from None

    def check(consumer: str | None) -> None:
        if consumer is not None and consumer not in consumers:
            raise typer.BadParameter(f"this service's consumers are {', '.join(consumers)}", param_hint="--consumer")

    def emit(value: Any) -> None:
        Console().print_json(json.dumps(value, ensure_ascii=False, default=str))

    @app.command("list")
    def list_(
        consumer: Annotated[str | None, typer.Option(help="one consumer (default: all of this service's)")] = None,
        reason: Annotated[str | None, typer.Option(help="one reason, e.g. handler_error, parked")] = None,
        status: Annotated[str, typer.Option(help="open (dead or parked), dead, parked, redriven, discarded, all")] = "open",
        limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
        after: Annotated[int, typer.Option(min=0, help="cursor: the last id shown before")] = 0,
    ) -> None:
        """Dead letters by consumer and reason (count, first and last seen), then the open ones with their origin."""
        check(consumer)
        wanted = [consumer] if consumer else consumers

        async def job(pool, _settings):
            async with pool.acquire() as conn:
                return {"summary": await dead_letters.groups(conn, wanted),
                        "items": await dead_letters.listing(conn, wanted, reason=reason, status=status, after=after, limit=limit)}

        emit(work(job))

    @app.command()
    def show(dead_letter_id: Annotated[int, typer.Argument(help="the id `dlq list` shows")]) -> None:
        """One dead letter: origin, error, headers and value."""

        async def job(pool, _settings):
            async with pool.acquire() as conn:
                return await dead_letters.show(conn, consumers, dead_letter_id)

        emit(work(job))

    @app.command()
    def redrive(
        dead_letter_ids: Annotated[list[int] | None, typer.Argument(help="these dead letters")] = None,
        consumer: Annotated[str | None, typer.Option(help="only this consumer's")] = None,
        reason: Annotated[str | None, typer.Option(help="every open dead letter of this reason")] = None,
        all_: Annotated[bool, typer.Option("--all", help="every open dead letter (of --consumer, of --reason)")] = False,
    ) -> None:
        """Apply dead letters through the consumer's own path (no second effect), then the events parked behind them."""
        check(consumer)
        if not dead_letter_ids and not all_ and reason is None:
            raise typer.BadParameter("name dead letters by id, or give --reason or --all")
        if dead_letter_ids and (all_ or reason):
            raise typer.BadParameter("ids cannot be combined with --reason or --all")

        async def job(pool, settings):
            reports = await dead_letters.redrive(pool, definition.consumers, settings.kafka, principal="operator:cli",
                                                 ids=dead_letter_ids or None, consumer=consumer, reason=reason)
            return [r.as_dict() for r in reports]

        emit(work(job))

    @app.command()
    def discard(
        dead_letter_id: Annotated[int, typer.Argument(help="the id `dlq list` shows")],
        reason: Annotated[DiscardReason, typer.Option(help="why it is given up (travels in DeadLetterDiscarded)")],
        note: Annotated[str | None, typer.Option(help="free text; stays in this service's table only")] = None,
    ) -> None:
        """Give a dead letter up for good, recorded as a DeadLetterDiscarded event the audit ledger keeps."""

        async def job(pool, settings):
            return await dead_letters.discard(pool, definition.consumers, settings.kafka, service=definition.name,
                                              dead_letter_id=dead_letter_id, reason=reason, note=note, principal="operator:cli")

        emit(work(job))

    return app
