"""Events about the event log's own operation, published by every service that consumes.

`DeadLetterDiscarded`: an operator gave up a dead letter (or an event parked behind one)
for good. Each consuming service publishes its own, on its own events topic
(`sangsaeng.<service>.DeadLetterDiscarded.v1`), so the audit ledger keeps who gave up
which record, when and why. The event carries codes and ids only: an operator's free-text
note stays in the service's own `dead_letters` table.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sangsaeng_common.contracts import Event, contract
from sangsaeng_common.contracts.common import Code, Ident

# The services whose consumers can dead-letter (every service with a consumer).
CONSUMING_SERVICES = ("intake", "visits", "loans", "referrals", "audit")


class DiscardReason(StrEnum):
    """Why an operator gives up a dead letter."""

    superseded = "superseded"  # a later event already carries the state it would have set
    duplicate = "duplicate"  # the same change reached the consumer another way
    unrecoverable = "unrecoverable"  # forged, corrupt or hostile: no version of the code can apply it
    test_data = "test_data"  # published by a test or a drill, not by the center's work
    resolved_manually = "resolved_manually"  # the effect was made by hand, outside the log


class DeadLetterDiscardedFields(Event):
    dead_letter_id: int
    consumer: Code
    dead_letter_reason: Code  # the dead letter's dlq_reason (e.g. handler_error, schema_invalid) or "parked"
    origin_topic: Code
    origin_partition: int
    origin_offset: int
    event_id: UUID | None = None  # the record's ce_id, when it had a readable one
    event_type: Code | None = None
    business_id: UUID | None = None  # the record's key, when it is a business id
    attempts: int
    discard_reason: DiscardReason
    discarded_by: Ident  # the operator's principal
    discarded_at: datetime

    def subject(self) -> str:
        return str(self.business_id) if self.business_id else f"{self.consumer}.dlq"


DEAD_LETTER_DISCARDED: dict[str, type[DeadLetterDiscardedFields]] = {
    service: contract(service, "DeadLetterDiscarded", 1)(
        type(f"{service.capitalize()}DeadLetterDiscarded", (DeadLetterDiscardedFields,), {"__module__": __name__, "__doc__": f"{service} gave up a dead letter for good."})
    )
    for service in CONSUMING_SERVICES
}


def dead_letter_discarded(service: str) -> type[DeadLetterDiscardedFields]:
    """The contract of `service`'s DeadLetterDiscarded."""
    return DEAD_LETTER_DISCARDED[service]
