"""How the audit domain sees a ledger entry: its type name and its data, nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class LedgerEvent:
    position: int
    event_id: str
    event_type: str  # sangsaeng.<service>.<Name>.v<N>
    subject: str
    time: datetime
    data: dict[str, Any]

    @property
    def name(self) -> str:
        parts = self.event_type.split(".")
        return parts[2] if len(parts) == 4 else self.event_type

    def day(self, field: str) -> date | None:
        value = self.data.get(field)
        if not value:
            return None
        return date.fromisoformat(str(value)[:10])
