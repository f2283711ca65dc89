"""Writes to districts' tables, and the rows a command locks before it changes them.

Each function takes the transaction's connection explicitly (`tx.conn`)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

# ---------------------------------------------------------------- districts


async def add_district(
    conn: asyncpg.Connection, *, id: UUID, name: str, dongs: list[str], association: str, boundary: dict,
    polygon_area_m2: float, excluded_area_m2: float, counted_area_m2: float, proposed_on: date, created_by: str,
) -> asyncpg.Record | None:
    """A new proposed district; None if a live district has that name already."""
    return await conn.fetchrow(
        """insert into districts (id, name, dongs, association, boundary, polygon_area_m2, excluded_area_m2, counted_area_m2,
                                  state, proposed_on, created_by)
           values ($1, $2, $3, $4, $5, $6, $7, $8, 'proposed', $9, $10)
           on conflict do nothing returning *""",
        id, name, dongs, association, boundary, polygon_area_m2, excluded_area_m2, counted_area_m2, proposed_on, created_by,
    )


async def set_representative(conn: asyncpg.Connection, district_id: UUID, name: str, phone: str | None) -> None:
    await conn.execute(
        """insert into representatives (district_id, name, phone) values ($1, $2, $3)
           on conflict (district_id) do update set name = excluded.name, phone = excluded.phone""",
        district_id, name, phone,
    )


async def district_for_update(conn: asyncpg.Connection, district_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from districts where id = $1 for update", district_id)


async def districts_of_member_for_update(conn: asyncpg.Connection, business_id: UUID) -> list[asyncpg.Record]:
    """The districts a business is a (current) member of, locked, in id order (no deadlock between two closures)."""
    return await conn.fetch(
        """select d.* from districts d join members m on m.district_id = d.id
           where m.business_id = $1 and m.left_on is null order by d.id for update of d""",
        business_id,
    )


async def open_review(conn: asyncpg.Connection, district_id: UUID, reason: str) -> asyncpg.Record:
    return await conn.fetchrow(
        "update districts set state = 'under_review', review_reason = $2, updated_at = now() where id = $1 returning *",
        district_id, reason,
    )


async def designate(conn: asyncpg.Connection, district_id: UUID, designated_on: date, rule: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """update districts set state = 'designated', designated_on = $2, designated_rule = $3, review_reason = null,
                  updated_at = now() where id = $1 returning *""",
        district_id, designated_on, rule,
    )


async def revoke(conn: asyncpg.Connection, district_id: UUID, revoked_on: date, reasons: list[str]) -> asyncpg.Record:
    return await conn.fetchrow(
        """update districts set state = 'revoked', revoked_on = $2, revoke_reasons = $3, updated_at = now()
           where id = $1 returning *""",
        district_id, revoked_on, reasons,
    )


# ---------------------------------------------------------------- members


async def add_member(
    conn: asyncpg.Connection, *, district_id: UUID, business_id: UUID, longitude: float, latitude: float,
    inside_boundary: bool, onnuri_merchant: bool, joined_on: date,
) -> asyncpg.Record:
    """A member store (a store that left and joins again becomes a member again)."""
    return await conn.fetchrow(
        """insert into members (district_id, business_id, longitude, latitude, inside_boundary, onnuri_merchant, joined_on)
           values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (district_id, business_id) do update set longitude = excluded.longitude, latitude = excluded.latitude,
               inside_boundary = excluded.inside_boundary, onnuri_merchant = excluded.onnuri_merchant,
               joined_on = excluded.joined_on, left_on = null, left_reason = null
           returning *""",
        district_id, business_id, longitude, latitude, inside_boundary, onnuri_merchant, joined_on,
    )


async def forget_leave_reasons(conn: asyncpg.Connection, business_id: UUID) -> None:
    await conn.execute("update members set left_reason = '(삭제됨)' where business_id = $1 and left_reason is not null", business_id)


async def remove_member(conn: asyncpg.Connection, district_id: UUID, business_id: UUID, left_on: date, reason: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """update members set left_on = $3, left_reason = $4 where district_id = $1 and business_id = $2 returning *""",
        district_id, business_id, left_on, reason,
    )


async def set_onnuri(conn: asyncpg.Connection, district_id: UUID, business_id: UUID, onnuri_merchant: bool) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """update members set onnuri_merchant = $3 where district_id = $1 and business_id = $2 and left_on is null returning *""",
        district_id, business_id, onnuri_merchant,
    )


# ---------------------------------------------------------------- contests


async def add_contest(
    conn: asyncpg.Connection, *, id: UUID, organiser: str, title: str, eligibility: str, budget_krw: int, opens_on: date, deadline: date,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """insert into contests (id, organiser, title, eligibility, budget_krw, opens_on, deadline)
           values ($1, $2, $3, $4, $5, $6, $7) returning *""",
        id, organiser, title, eligibility, budget_krw, opens_on, deadline,
    )


async def contest_for_update(conn: asyncpg.Connection, contest_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from contests where id = $1 for update", contest_id)


async def add_entry(
    conn: asyncpg.Connection, *, id: UUID, contest_id: UUID, district_id: UUID, requested_krw: int | None, entered_on: date, helped_by: str,
) -> asyncpg.Record | None:
    """None if the district entered this contest already."""
    return await conn.fetchrow(
        """insert into entries (id, contest_id, district_id, requested_krw, entered_on, helped_by)
           values ($1, $2, $3, $4, $5, $6) on conflict (contest_id, district_id) do nothing returning *""",
        id, contest_id, district_id, requested_krw, entered_on, helped_by,
    )


async def entry_for_update(conn: asyncpg.Connection, contest_id: UUID, entry_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from entries where id = $1 and contest_id = $2 for update", entry_id, contest_id)


async def announce(conn: asyncpg.Connection, entry_id: UUID, selected: bool, awarded_krw: int, announced_on: date) -> asyncpg.Record:
    return await conn.fetchrow(
        "update entries set selected = $2, awarded_krw = $3, announced_on = $4 where id = $1 returning *",
        entry_id, selected, awarded_krw, announced_on,
    )
