"""Composition root of audit: reads the settings, builds the clock and the log's keys and wires
them into the consumer, the checkpoint signer, the routes and the auditors' command line.
Nothing here is cached in a global."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from audit.config import AuditSettings
from audit.domain.checkpoint import Signer, Verifier
from audit.entrypoints import cli
from audit.entrypoints.consumers import checkpoints_task, handlers
from audit.entrypoints.http import routes
from audit.service_layer.log import LogKeys
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.ledger import CHECKPOINTS_TOPIC
from sangsaeng_common.runtime import ServiceDefinition

import typer


def log_keys(settings: AuditSettings) -> LogKeys:
    """The signing key from its file (none configured: this process verifies but cannot sign)
    and every trusted verifier key, the signer's own first."""
    signer = Signer.parse(Path(settings.signing_key_file).read_text()) if settings.signing_key_file else None
    verifiers = ([Verifier.parse(signer.verifier_key())] if signer else []) + [Verifier.parse(k) for k in settings.verifier_keys]
    return LogKeys(settings.ledger_origin, signer, verifiers)


def build(settings: AuditSettings | None = None, clock: SeoulClock | None = None) -> ServiceDefinition:
    settings = settings or AuditSettings()
    clock = clock or SeoulClock(settings.clock_offset_days)
    keys = log_keys(settings)
    return ServiceDefinition(
        name="audit",
        title="Sangsaeng audit",
        description="The append-only ledger of every event, a Merkle transparency log with signed checkpoints: "
        "proofs, verify, report, export. Read-only for auditors.",
        routes=routes(limits=settings.program_limits, clock=clock, keys=keys),
        consumers=[handlers()],
        tasks=[checkpoints_task(keys, settings.checkpoint_interval_s)],
        extra_topics=[CHECKPOINTS_TOPIC],
    )


def command_line() -> typer.Typer:
    """`python -m audit …`: the service's commands and the auditors' ones, on the same settings and clock."""
    settings = AuditSettings()
    clock = SeoulClock(settings.clock_offset_days)
    return cli.app(partial(build, settings, clock), settings=settings, clock=clock, keys=partial(log_keys, settings))
