"""The HTTP API's reads, scoped to the reader.

An agency (`agency` is its code; None for staff readers) sees only its own referrals, and
only those sent to it: another agency's referral is not found, exactly like one that does
not exist; asking for another agency's list is forbidden."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.errors import Forbidden, NotFound
from referrals.adapters import queries
from referrals.domain import referral as r
from referrals.service_layer.handlers import Deps


def _agency_filter(reader: str | None, agency: AgencyCode | None) -> str | None:
    if reader is None:
        return agency.value if agency else None
    if agency is not None and agency.value != reader:
        raise Forbidden("Forbidden", f"agency {reader} may read only its own referrals")
    return reader


async def referrals(
    conn: asyncpg.Connection, reader: str | None, *, business_id: UUID | None, agency: AgencyCode | None, state: str | None, limit: int,
    after: tuple[Any, ...] | None = None,
) -> list[asyncpg.Record]:
    agency_code = _agency_filter(reader, agency)
    visible = [s.value for s in r.VISIBLE_TO_AGENCY] if reader is not None else None
    return await queries.referrals(conn, business_id=business_id, agency=agency_code, state=state, states=visible, limit=limit, after=after)


@dataclass(frozen=True)
class Overdue:
    row: asyncpg.Record
    days_waiting: int
    waiting_for: str  # acknowledgement | outcome


async def overdue(conn: asyncpg.Connection, deps: Deps, reader: str | None, *, agency: AgencyCode | None, as_of: date | None) -> list[Overdue]:
    """Sent referrals with no outcome after the policy's overdue_days."""
    agency_code = _agency_filter(reader, agency)
    as_of = as_of or deps.clock.today()
    days = deps.policy.overdue_days
    rows = await queries.sent_before(conn, agency=agency_code, as_of=as_of, days=days)
    return [
        Overdue(row, (as_of - row["sent_on"]).days, "acknowledgement" if row["state"] == "sent" else "outcome")
        for row in rows
        if r.is_overdue(r.State(row["state"]), row["sent_on"], as_of, days)
    ]


async def referral(conn: asyncpg.Connection, reader: str | None, referral_id: UUID) -> asyncpg.Record:
    row = await queries.referral(conn, referral_id)
    if row is None or (reader is not None and (row["agency"] != reader or row["state"] not in r.VISIBLE_TO_AGENCY)):
        raise NotFound("Referral not found", f"no referral {referral_id}")
    return row
