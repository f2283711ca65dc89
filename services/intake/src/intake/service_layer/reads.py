"""Intake's read side: what a search or a list may ask, and what is not found.

No unit of work: each reads straight from the tables through adapters.queries (`db` is
the pool). Like the commands, they raise only domain errors; the resident-number guard
refuses a search for one (it would be written to logs and metrics)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar
from uuid import UUID

import asyncpg

from intake.adapters import queries
from intake.adapters.queries import Db, Page
from intake.domain import registration
from intake.domain.business import DONGS, FORMER_DONGS
from intake.domain.pagination import InvalidCursor
from intake.domain.search import BusinessSearch
from intake.domain.support import SupportStatus
from intake.service_layer.handlers import business_not_found, support_request_not_found
from sangsaeng_common.contracts.common import Need
from sangsaeng_common.errors import invalid
from sangsaeng_common.pii import refuse_resident_numbers

T = TypeVar("T")


async def _paged(read: Awaitable[T]) -> T:
    try:
        return await read
    except InvalidCursor as exc:
        raise invalid("cursor", str(exc)) from None


async def search_businesses(db: Db, search: BusinessSearch) -> Page:
    """Newest first; the filters combine (AND)."""
    refuse_resident_numbers({"q": search.q, "industry": search.industry})
    if search.dong is not None and search.dong not in DONGS and search.dong not in FORMER_DONGS:
        raise invalid("dong", f"not an administrative dong of Dongdaemun-gu; one of: {', '.join(DONGS)}")
    if search.registration_number is not None:
        try:
            search = search.with_number(registration.normalize(search.registration_number))
        except registration.InvalidRegistrationNumber as exc:
            raise invalid("registration_number", str(exc)) from None
    return await _paged(queries.search_businesses(db, search))


async def business(db: Db, business_id: UUID) -> asyncpg.Record:
    row = await queries.business(db, business_id)
    if row is None:
        raise business_not_found(business_id)
    return row


async def _known(db: Db, business_id: UUID) -> None:
    if not await queries.business_exists(db, business_id):
        raise business_not_found(business_id)


async def owners(db: Db, business_id: UUID) -> list[asyncpg.Record]:
    await _known(db, business_id)
    return await queries.owners(db, business_id)


async def consents(db: Db, business_id: UUID) -> list[asyncpg.Record]:
    """Newest first."""
    await _known(db, business_id)
    return await queries.consents(db, business_id)


async def support_requests(
    db: Db, *, business_id: UUID | None, assignee: str | None = None, status: SupportStatus | None = None, need: Need | None = None,
    limit: int, cursor: str | None,
) -> Page:
    """Newest first; the queues: per person (`assignee`, with `status`) and per need."""
    return await _paged(queries.support_requests(
        db, business_id=business_id, assignee=assignee, status=status.value if status else None, need=need.value if need else None,
        limit=limit, cursor=cursor,
    ))


async def support_request(db: Db, request_id: UUID) -> asyncpg.Record:
    row = await queries.support_request(db, request_id)
    if row is None:
        raise support_request_not_found(request_id)
    return row


async def support_steps(db: Db, request_id: UUID) -> list[asyncpg.Record]:
    await support_request(db, request_id)
    return await queries.support_steps(db, request_id)


async def timeline(db: Db, business_id: UUID, *, limit: int, cursor: str | None) -> Page:
    """Newest first."""
    await _known(db, business_id)
    return await _paged(queries.timeline(db, business_id, limit=limit, cursor=cursor))
