"""The business directory's handlers: intake's business events, kept in `businesses`
(adapters/directory.py). Apart from the rest on purpose: a shared directory in libs/common
will take these over."""

from __future__ import annotations

from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, BusinessStageChanged
from sangsaeng_common.tx import Tx
from loans.adapters import directory


async def remember_business(tx: Tx, event: BusinessRegistered) -> None:
    await directory.upsert(tx.conn, event)


async def follow_stage(tx: Tx, event: BusinessStageChanged) -> None:
    await directory.set_stage(tx.conn, event.business_id, event.to_stage.value)


async def erase_business(tx: Tx, event: BusinessErased) -> None:
    """Loans holds no names or numbers; it blanks the free text it keeps (withdrawal reasons)
    and marks the business erased, which makes new screenings fail `business_known`."""
    await directory.erase(tx.conn, event.business_id, event.erased_at)
