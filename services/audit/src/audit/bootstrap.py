"""Composition root of audit."""

from audit.consumers import handlers
from audit.entrypoints.http import routes
from sangsaeng_common.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="audit",
    title="Sangsaeng audit",
    description="The append-only, hash-chained ledger of every event: verify, report, export. Read-only for auditors.",
    routes=routes,
    consumers=[handlers],
)
