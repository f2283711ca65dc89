"""The command line every service shares, built from its composition root's `build`:

    python -m <service> serve      # API + relay + consumers (the default deployment)
    python -m <service> api        # only the HTTP API
    python -m <service> relay      # only the outbox relay (one leader per service)
    python -m <service> consume    # only the consumers (scale these out)
    python -m <service> migrate    # only the schema's migrations
    python -m <service> republish  # refill a lost broker from the outbox
    python -m <service> replay     # rebuild the read models and compare them (if it has any)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
import uvloop
from rich.console import Console
from rich.progress import Progress, TextColumn

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
        configure_logging(definition.name, "WARNING")
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
            configure_logging(definition.name, "WARNING")
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

    return app
