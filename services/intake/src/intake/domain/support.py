"""Support requests: what a business asks the center for, and through which channel."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

from sangsaeng_common.contracts.common import Channel, Need


class SupportRequestRefused(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def check_request(*, needs: Iterable[Need], channel: Channel, visit_id: UUID | None, requested_on: date, today: date) -> list[Need]:
    """The needs, each once in the order named; SupportRequestRefused names what is wrong."""
    ordered = list(dict.fromkeys(needs))
    if not ordered:
        raise SupportRequestRefused("needs", "name at least one need")
    if visit_id is not None and channel is not Channel.visit:
        raise SupportRequestRefused("visit_id", "only a request made during a visit (channel visit) names a visit")
    if requested_on > today:
        raise SupportRequestRefused("requested_on", "lies in the future")
    return ordered
