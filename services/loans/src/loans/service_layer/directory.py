"""Loans' own effects of intake's business events, beyond the directory's rows (which the
shared projection sangsaeng_common.directory writes; entrypoints/consumers.py declares it)."""

from __future__ import annotations

from sangsaeng_common.contracts.intake import BusinessErased
from sangsaeng_common.tx import Tx
from loans.adapters import directory


async def forget_business(tx: Tx, event: BusinessErased) -> None:
    """Loans holds no names or numbers; it blanks the free text it keeps (withdrawal and decision reasons).
    The directory marked the business erased, which makes new screenings fail `business_known`."""
    await directory.forget_withdraw_reasons(tx.conn, event.business_id)
