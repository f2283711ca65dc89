"""Districts' directory of businesses, kept true from intake's events (no personal data).

Kept apart on purpose, with adapters/directory.py: the shared directory in libs/common
(sangsaeng_common.directory, not on main yet) is to replace both."""

from __future__ import annotations

from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, BusinessStageChanged
from sangsaeng_common.tx import Tx
from districts.adapters import directory


async def remember(tx: Tx, event: BusinessRegistered) -> None:
    await directory.upsert(tx.conn, event.business_id, name=event.name, dong=event.dong, stage=event.stage.value)


async def follow_stage(tx: Tx, event: BusinessStageChanged) -> None:
    await directory.set_stage(tx.conn, event.business_id, event.to_stage.value)


async def mark_erased(tx: Tx, event: BusinessErased) -> None:
    await directory.mark_erased(tx.conn, event.business_id, event.erased_at)
