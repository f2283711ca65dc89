"""What can be asked of audit: one plain frozen dataclass each (no HTTP, no pydantic).

The ledger has one writer (`Record`, from the consumer); everything else reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiokafka.structs import ConsumerRecord

from sangsaeng_common.envelope import Envelope


@dataclass(frozen=True)
class Record:
    """Append consumed events to the log, in the order given."""

    events: list[tuple[Envelope, ConsumerRecord]]


@dataclass(frozen=True)
class Verify:
    """Check the log (entries, tree, signed checkpoints) and the cross-service rules over every event."""


@dataclass(frozen=True)
class Report:
    """The center's report for a period ("2025H1", "2025Q2", "2025-05", "2025")."""

    period: str


@dataclass(frozen=True)
class ExportEvents:
    """Events whole, in ledger order, of a period (by business date) and of some topics
    (none: every topic): what auditors export and what a service's replay reads."""

    period: str | None = None
    topics: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ExportLog:
    """The entries' exact bytes of a period (by business date; none: the whole log), with the
    checkpoints and proofs an outside auditor needs to verify them alone."""

    period: str | None = None


@dataclass(frozen=True)
class ApplicationAt:
    """A loan application as it was at a moment (default: now)."""

    application_id: str
    at: datetime | None = None
