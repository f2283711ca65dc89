"""How the audit domain sees a ledger entry: its type name and its data, nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from sangsaeng_common.contracts import upcast_data


@dataclass(frozen=True)
class LedgerEvent:
    position: int
    event_id: str
    event_type: str  # sangsaeng.<service>.<Name>.v<N>
    subject: str
    time: datetime
    data: dict[str, Any]
    # The CloudEvents extension `actor` (header ce_actor): the subject id on whose command the
    # event happened; None for events recorded before events named their actor.
    actor: str | None = None

    @classmethod
    def newest(
        cls, position: int, event_id: str, event_type: str, subject: str, time: datetime, data: dict[str, Any], actor: str | None = None
    ) -> LedgerEvent:
        """An entry as the audit rules read it: an older event version upcast to the newest (the
        rules know only the newest; the entry itself, its bytes and its leaf, stay as recorded)."""
        try:
            event_type, data = upcast_data(event_type, data)
        except ValidationError:  # kept whole though its contract refuses it (a ledger keeps everything): read as recorded
            pass
        return cls(position, event_id, event_type, subject, time, data, actor)

    @property
    def name(self) -> str:
        parts = self.event_type.split(".")
        return parts[2] if len(parts) == 4 else self.event_type

    def day(self, field: str) -> date | None:
        value = self.data.get(field)
        if not value:
            return None
        return date.fromisoformat(str(value)[:10])
