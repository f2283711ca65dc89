"""Referrals' directory of businesses, kept true from intake's events (no personal data).

Kept apart on purpose, with adapters/directory.py: a directory shared by the services (in
libs/common) is to replace both. The rules read it only through adapters/directory.py."""

from __future__ import annotations

from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, BusinessStageChanged
from sangsaeng_common.tx import Tx
from referrals.adapters import directory


async def remember(tx: Tx, event: BusinessRegistered) -> None:
    await directory.upsert(tx.conn, event.business_id, dong=event.dong, industry=event.industry, stage=event.stage.value)


async def follow_stage(tx: Tx, event: BusinessStageChanged) -> None:
    # Keeps the directory's stage true. The row exists: intake publishes a business's
    # registration before its stage changes, on the same partition.
    await directory.set_stage(tx.conn, event.business_id, event.to_stage.value)


async def mark_erased(tx: Tx, event: BusinessErased) -> None:
    """Called by handlers.forget_business under the business's lock (it erases the referrals too)."""
    await directory.mark_erased(tx.conn, event.business_id, event.erased_at)
