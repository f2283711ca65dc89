"""Composition root of audit: reads the settings, builds the clock and wires them into the
consumer, the routes and the auditors' command line. Nothing here is cached in a global."""

from __future__ import annotations

from functools import partial

import typer

from audit.config import AuditSettings
from audit.entrypoints import cli
from audit.entrypoints.consumers import handlers
from audit.entrypoints.http import routes
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.runtime import ServiceDefinition


def build(settings: AuditSettings | None = None, clock: SeoulClock | None = None) -> ServiceDefinition:
    settings = settings or AuditSettings()
    clock = clock or SeoulClock(settings.clock_offset_days)
    return ServiceDefinition(
        name="audit",
        title="Sangsaeng audit",
        description="The append-only, hash-chained ledger of every event: verify, report, export. Read-only for auditors.",
        routes=routes(limits=settings.program_limits, clock=clock),
        consumers=[handlers()],
    )


def command_line() -> typer.Typer:
    """`python -m audit …`: the service's commands and the auditors' ones, on the same settings and clock."""
    settings = AuditSettings()
    clock = SeoulClock(settings.clock_offset_days)
    return cli.app(partial(build, settings, clock), settings=settings, clock=clock)
