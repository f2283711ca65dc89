"""Read side: programs and their terms, rounds, applications and the counts (plain SQL over
loans' own tables). Rows come back as records or dicts; the entrypoints shape the answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from loans.domain.eligibility import ProgramTerms, RoundFacts

PROGRAM_ORDER = ["sme_development_fund", "bank_cooperation"]


def round_view(row: asyncpg.Record) -> dict[str, Any]:
    data = dict(row)
    data["remaining_krw"] = data["budget_krw"] - data["reserved_krw"]
    return data


async def rounds(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [round_view(r) for r in await conn.fetch("select * from fund_rounds order by program, opens_on")]


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


async def application(conn: asyncpg.Connection, application_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("select * from applications where id = $1", application_id)


async def applications(
    conn: asyncpg.Connection, *, business_id: UUID | None, status: str | None, program: str | None, limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[asyncpg.Record]:
    """Newest first by (created_at, id); `after`: the sort key of the previous page's last row."""
    created_at, application_id = after or (None, None)
    return await conn.fetch(
        """select * from applications
           where ($1::uuid is null or business_id = $1) and ($2::text is null or status = $2) and ($3::text is null or program = $3)
             and ($5::timestamptz is null or (created_at, id) < ($5, $6::uuid))
           order by created_at desc, id desc limit $4""",
        business_id, status, program, limit, created_at, application_id,
    )


async def report(conn: asyncpg.Connection, first: date, last: date) -> dict[str, Any]:
    """Applications submitted in [first, last] (drafts are not applications), by program and status;
    and per program the principal outstanding on `last` and the principal repaid in the period."""
    rows = await conn.fetch(
        """select program, status, count(*) as applications, sum(amount_krw) as requested_krw,
                  coalesce(sum(approved_amount_krw) filter (where status in ('approved', 'disbursed')), 0) as approved_krw,
                  coalesce(sum(approved_amount_krw) filter (where status = 'disbursed'), 0) as disbursed_krw
           from applications where status <> 'draft' and submitted_on between $1 and $2
           group by program, status""",
        first, last,
    )
    by_program: dict[str, dict[str, Any]] = {
        p: {"program": p, "applications": 0, "requested_krw": 0, "approved_krw": 0, "disbursed_krw": 0, "by_status": {},
            "outstanding_principal_krw": 0, "loans_outstanding": 0, "principal_repaid_krw": 0} for p in PROGRAM_ORDER
    }
    # The loan book on the period's last day (every loan disbursed by then, whenever submitted),
    # and the principal repaid within the period: by business dates, as the counts are.
    book = await conn.fetch(
        """select a.program, sum(a.approved_amount_krw - coalesce(r.repaid, 0)) as outstanding,
                  count(*) filter (where a.approved_amount_krw > coalesce(r.repaid, 0)) as loans
           from applications a
           left join lateral (select sum(principal_krw) as repaid from repayments where application_id = a.id and paid_on <= $1) r on true
           where a.status = 'disbursed' and a.disbursed_on <= $1 group by a.program""",
        last,
    )
    for r in book:
        by_program[r["program"]] |= {"outstanding_principal_krw": int(r["outstanding"] or 0), "loans_outstanding": r["loans"]}
    repaid = await conn.fetch(
        """select a.program, sum(r.principal_krw) as principal from repayments r join applications a on a.id = r.application_id
           where r.paid_on between $1 and $2 group by a.program""",
        first, last,
    )
    for r in repaid:
        by_program[r["program"]]["principal_repaid_krw"] = int(r["principal"] or 0)
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
        "outstanding_principal_krw": sum(p["outstanding_principal_krw"] for p in programs),
        "principal_repaid_krw": sum(p["principal_repaid_krw"] for p in programs),
        "by_program": programs,
    }


# ---------------------------------------------------------------- what the commands read


def _terms(row: asyncpg.Record) -> ProgramTerms:
    return ProgramTerms(
        code=row["code"], annual_rate_pct=row["annual_rate_pct"], grace_months=row["grace_months"],
        instalments=row["instalments"], max_term_months=row["max_term_months"], limit_micro_krw=row["limit_micro_krw"],
        limit_sme_krw=row["limit_sme_krw"], min_months_since_registration=row["min_months_since_registration"],
        requires_district=row["requires_district"], excludes_current_fund_borrowers=row["excludes_current_fund_borrowers"],
        uses_rounds=row["uses_rounds"], requires_guarantee=row["requires_guarantee"], guarantee_agency=row["guarantee_agency"],
        subsidy_rate_pct=row["subsidy_rate_pct"], subsidy_months=row["subsidy_months"],
        allowed_purposes=frozenset(row["allowed_purposes"]), required_documents=tuple(row["required_documents"]),
        excluded_industries=frozenset(row["excluded"]),
    )


async def load_terms(conn: asyncpg.Connection, program: str) -> tuple[ProgramTerms, frozenset[str]]:
    """The program's terms and the district's dongs, in one round trip."""
    row = await conn.fetchrow(
        """select p.*, array(select industry from program_excluded_industries where program = p.code) as excluded,
                  array(select dong from district_dongs) as dongs
           from programs p where p.code = $1""",
        program,
    )
    if row is None:
        raise LookupError(f"no program {program}")
    return _terms(row), frozenset(row["dongs"])


async def program_uses_rounds(conn: asyncpg.Connection, program: str) -> bool:
    return bool(await conn.fetchval("select uses_rounds from programs where code = $1", program))


async def open_round(conn: asyncpg.Connection, program: str, on: date) -> RoundFacts | None:
    row = await conn.fetchrow(
        """select id, opens_on, closes_on from fund_rounds
           where program = $1 and opens_on <= $2 and (closes_on is null or closes_on >= $2)
           order by opens_on desc limit 1""",
        program, on,
    )
    return RoundFacts(row["id"], row["opens_on"], row["closes_on"]) if row else None


async def repaying_fund_loan(conn: asyncpg.Connection, business_id: UUID, other_than: UUID) -> bool:
    """Whether the business still owes principal on a disbursed district-fund loan (another
    application); a repaid loan (outstanding principal zero) no longer counts."""
    return bool(
        await conn.fetchval(
            """select 1 from applications where business_id = $1 and program = 'sme_development_fund'
               and status = 'disbursed' and outstanding_principal_krw > 0 and id <> $2 limit 1""",
            business_id, other_than,
        )
    )


async def has_open_draft(conn: asyncpg.Connection, business_id: UUID) -> bool:
    return bool(await conn.fetchval("select 1 from applications where business_id = $1 and status = 'draft'", business_id))
