"""Read side: programs, rounds, applications and the counts (plain SQL over loans' own tables)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from loans.models import Application

PROGRAM_ORDER = ["sme_development_fund", "bank_cooperation"]


def _round(row: asyncpg.Record) -> dict[str, Any]:
    data = dict(row)
    data["remaining_krw"] = data["budget_krw"] - data["reserved_krw"]
    return data


async def rounds(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [_round(r) for r in await conn.fetch("select * from fund_rounds order by program, opens_on")]


async def programs(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """select p.*, array(select industry from program_excluded_industries e where e.program = p.code order by industry) as excluded_industries
           from programs p order by array_position($1::text[], p.code), p.code""",
        PROGRAM_ORDER,
    )
    all_rounds = await rounds(conn)
    dongs = [r["dong"] for r in await conn.fetch("select dong from district_dongs order by administrative desc, dong")]
    out = []
    for row in rows:
        data = dict(row)
        data["district_dongs"] = dongs if row["requires_district"] else []
        data["rounds"] = [r for r in all_rounds if r["program"] == row["code"]]
        out.append(data)
    return out


async def application(conn: asyncpg.Connection, application_id: UUID) -> Application | None:
    row = await conn.fetchrow("select * from applications where id = $1", application_id)
    return Application.of(row) if row else None


async def applications(
    conn: asyncpg.Connection, *, business_id: UUID | None, status: str | None, program: str | None, limit: int
) -> list[Application]:
    rows = await conn.fetch(
        """select * from applications
           where ($1::uuid is null or business_id = $1) and ($2::text is null or status = $2) and ($3::text is null or program = $3)
           order by created_at desc, id desc limit $4""",
        business_id, status, program, limit,
    )
    return [Application.of(r, with_schedule=False) for r in rows]


async def report(conn: asyncpg.Connection, first: date, last: date) -> dict[str, Any]:
    """Applications submitted in [first, last] (drafts are not applications), by program and status."""
    rows = await conn.fetch(
        """select program, status, count(*) as applications, sum(amount_krw) as requested_krw,
                  coalesce(sum(approved_amount_krw) filter (where status in ('approved', 'disbursed')), 0) as approved_krw,
                  coalesce(sum(approved_amount_krw) filter (where status = 'disbursed'), 0) as disbursed_krw
           from applications where status <> 'draft' and submitted_on between $1 and $2
           group by program, status""",
        first, last,
    )
    by_program: dict[str, dict[str, Any]] = {
        p: {"program": p, "applications": 0, "requested_krw": 0, "approved_krw": 0, "disbursed_krw": 0, "by_status": {}} for p in PROGRAM_ORDER
    }
    for r in rows:
        entry = by_program[r["program"]]
        entry["applications"] += r["applications"]
        entry["requested_krw"] += int(r["requested_krw"] or 0)
        entry["approved_krw"] += int(r["approved_krw"])
        entry["disbursed_krw"] += int(r["disbursed_krw"])
        entry["by_status"][r["status"]] = r["applications"]
    programs = [{**e, "by_status": dict(sorted(e["by_status"].items()))} for e in by_program.values()]
    return {
        "from": first,
        "to": last,
        "applications": sum(p["applications"] for p in programs),
        "requested_krw": sum(p["requested_krw"] for p in programs),
        "approved_krw": sum(p["approved_krw"] for p in programs),
        "disbursed_krw": sum(p["disbursed_krw"] for p in programs),
        "by_program": programs,
    }
