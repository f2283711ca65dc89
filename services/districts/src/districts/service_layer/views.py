"""The HTTP API's reads: a district with its count against the rules, its member stores.

The representative (personal data) is shown to staff only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg

from sangsaeng_common.errors import NotFound
from districts.adapters import queries
from districts.domain import district as d
from districts.service_layer.handlers import Deps, Standing, standing


@dataclass(frozen=True)
class DistrictView:
    row: asyncpg.Record
    members: list[asyncpg.Record]
    standing: Standing
    representative: asyncpg.Record | None


async def district(conn: asyncpg.Connection, deps: Deps, district_id: UUID, *, with_personal_data: bool, on: date | None = None) -> DistrictView:
    row = await queries.district(conn, district_id)
    if row is None:
        raise NotFound("District not found", f"no district {district_id}")
    return await _view(conn, deps, row, with_personal_data, on or deps.clock.today())


async def _view(conn: asyncpg.Connection, deps: Deps, row: asyncpg.Record, with_personal_data: bool, on: date) -> DistrictView:
    members = await queries.members(conn, row["id"])
    representative = await queries.representative(conn, row["id"]) if with_personal_data else None
    return DistrictView(row, members, await standing(conn, deps, row, on), representative)


async def districts(conn: asyncpg.Connection, deps: Deps, *, state: str | None, dong: str | None, limit: int,
                    with_personal_data: bool) -> list[DistrictView]:
    today = deps.clock.today()
    return [await _view(conn, deps, row, with_personal_data, today) for row in await queries.districts(conn, state=state, dong=dong, limit=limit)]


def counts(member: asyncpg.Record) -> bool:
    return d.Member(member["business_id"], member["inside_boundary"], member["stage"]).counts
