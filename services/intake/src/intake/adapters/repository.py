"""The write side's SQL: every statement a command or a consumer runs inside its unit of
work, each taking that transaction's connection (`tx.conn`) explicitly (a write that goes with
its event in one statement takes the unit of work itself: `tx.emit_with`).

The locks are taken here, and why each is taken is said where it is taken."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from sangsaeng_common.contracts import Event
from sangsaeng_common.tx import Tx


def _count(status: str) -> int:
    """The row count of a command status such as `DELETE 3`."""
    return int(status.split()[-1])


# ---------------------------------------------------------------- businesses


async def insert_business(
    tx: Tx,
    announce: Event,
    *,
    business_id: UUID,
    registration_number: str | None,
    business_kind: str | None,
    name: str,
    dong: str,
    address: str | None,
    industry: str,
    employees: int,
    is_micro_business: bool,
    stage: str,
    registered_on: date | None,
) -> asyncpg.Record | None:
    """The new business, with `announce` in the outbox, in one statement; None (and no
    event) if its registration number is registered already."""
    # ON CONFLICT rather than catching the unique violation: no savepoint (two round trips)
    # needed to keep the unit of work usable. The id is new, so only the number can clash.
    rows = await tx.emit_with(
        """insert into businesses (id, registration_number, business_kind, name, dong, address, industry,
                                   employees, is_micro_business, stage, registered_on)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict do nothing returning *""",
        (business_id, registration_number, business_kind, name, dong, address,
         industry, employees, is_micro_business, stage, registered_on),
        announce,
    )
    return rows[0] if rows else None


async def business_with_number(conn: asyncpg.Connection, registration_number: str) -> UUID | None:
    return await conn.fetchval("select id from businesses where registration_number = $1", registration_number)


async def lock_stage(conn: asyncpg.Connection, business_id: UUID) -> str | None:
    """The business's stage, its row locked; None if there is no such business."""
    # FOR UPDATE: two stage changes of one business are decided one after the other,
    # each against the stage the other left.
    return await conn.fetchval("select stage from businesses where id = $1 for update", business_id)


async def set_stage(conn: asyncpg.Connection, business_id: UUID, stage: str) -> asyncpg.Record:
    return await conn.fetchrow("update businesses set stage = $2, updated_at = now() where id = $1 returning *", business_id, stage)


async def lock_business(conn: asyncpg.Connection, business_id: UUID) -> asyncpg.Record | None:
    """The business row, locked for this unit of work (its erasure waits for us, and we for it); None if none."""
    return await conn.fetchrow("select id, erased_at from businesses where id = $1 for update", business_id)


async def share_business(conn: asyncpg.Connection, business_id: UUID) -> bool:
    """Whether the business exists, its row held (FOR SHARE) so it cannot be erased under us."""
    return bool(await conn.fetchval("select true from businesses where id = $1 for share", business_id))


# ---------------------------------------------------------------- owners (personal data: never in an event)


async def insert_owner(
    conn: asyncpg.Connection, *, owner_id: UUID, business_id: UUID, relation: str, name: str, phone: str | None, email: str | None
) -> asyncpg.Record:
    return await conn.fetchrow(
        """insert into owners (id, business_id, relation, name, phone, email)
           values ($1, $2, $3, $4, $5, $6) returning *""",
        owner_id, business_id, relation, name, phone, email,
    )


async def business_of_owner(conn: asyncpg.Connection, owner_id: UUID) -> UUID | None:
    return await conn.fetchval("select business_id from owners where id = $1", owner_id)


# ---------------------------------------------------------------- consents


async def insert_consent(
    conn: asyncpg.Connection,
    *,
    consent_id: UUID,
    business_id: UUID,
    agencies: Sequence[str],
    given_at: datetime,
    owner_id: UUID | None,
    signed_by: str | None,
    note: str | None,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """insert into consents (id, business_id, agencies, given_at, owner_id, signed_by, note)
           values ($1, $2, $3, $4, $5, $6, $7) returning *""",
        consent_id, business_id, list(agencies), given_at, owner_id, signed_by, note,
    )


async def lock_consent(conn: asyncpg.Connection, business_id: UUID, consent_id: UUID) -> asyncpg.Record | None:
    """The business's consent, locked (one withdrawal at a time); None if it has no such consent."""
    return await conn.fetchrow("select * from consents where id = $1 and business_id = $2 for update", consent_id, business_id)


async def withdraw_consent(conn: asyncpg.Connection, consent_id: UUID, withdrawn_at: datetime, note: str | None) -> asyncpg.Record:
    return await conn.fetchrow(
        "update consents set withdrawn_at = $2, withdrawal_note = $3 where id = $1 returning *", consent_id, withdrawn_at, note
    )


# ---------------------------------------------------------------- support requests


async def insert_support_request(
    conn: asyncpg.Connection,
    *,
    request_id: UUID,
    business_id: UUID,
    needs: Sequence[str],
    channel: str,
    visit_id: UUID | None,
    requested_on: date,
    note: str | None,
) -> asyncpg.Record:
    return await conn.fetchrow(
        """insert into support_requests (id, business_id, needs, channel, visit_id, requested_on, note)
           values ($1, $2, $3, $4, $5, $6, $7) returning *""",
        request_id, business_id, list(needs), channel, visit_id, requested_on, note,
    )


async def lock_support_request(conn: asyncpg.Connection, request_id: UUID) -> asyncpg.Record | None:
    """The request, locked (its steps are decided one after the other); None if none."""
    return await conn.fetchrow("select * from support_requests where id = $1 for update", request_id)


async def set_support_status(
    conn: asyncpg.Connection, request_id: UUID, *, status: str, assignee: str | None, outcome: str | None
) -> asyncpg.Record:
    return await conn.fetchrow(
        """update support_requests set status = $2, assignee = $3, outcome = $4, updated_at = now()
           where id = $1 returning *""",
        request_id, status, assignee, outcome,
    )


async def add_support_step(
    conn: asyncpg.Connection, *, event_id: UUID, request_id: UUID, business_id: UUID, step: str, status: str,
    assignee: str | None, outcome: str | None, note: str | None, actor: str | None, taken_at: datetime,
) -> None:
    await conn.execute(
        """insert into support_request_steps (event_id, request_id, business_id, step, status, assignee, outcome, note, actor, taken_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        event_id, request_id, business_id, step, status, assignee, outcome, note, actor, taken_at,
    )


async def blank_support_step_notes(conn: asyncpg.Connection, business_id: UUID) -> int:
    return _count(await conn.execute(
        "update support_request_steps set note = null where business_id = $1 and note is not null", business_id
    ))


# ---------------------------------------------------------------- business details


async def lock_business_details(conn: asyncpg.Connection, business_id: UUID) -> asyncpg.Record | None:
    """The business row, locked: two changes of details are decided one after the other."""
    return await conn.fetchrow("select * from businesses where id = $1 for update", business_id)


async def set_business_details(
    conn: asyncpg.Connection, business_id: UUID, changed: dict[str, Any], is_micro_business: bool
) -> asyncpg.Record:
    """Write the changed details (names from business.DETAILS only) and the recomputed flag; the version moves on."""
    columns = list(changed)
    sets = "".join(f"{column} = ${i + 3}, " for i, column in enumerate(columns))
    return await conn.fetchrow(
        f"""update businesses set {sets}is_micro_business = $2, version = version + 1, updated_at = now()
            where id = $1 returning *""",
        business_id, is_micro_business, *(changed[c] for c in columns),
    )


# ---------------------------------------------------------------- timeline


async def erasure_times(conn: asyncpg.Connection, business_ids: Iterable[UUID]) -> dict[UUID, datetime | None]:
    """When each of these businesses was last erased (None: never), for those intake knows."""
    # FOR SHARE: an erasure of these businesses either committed before (we see its time and
    # blank an event's free text if it happened before the erasure) or waits for us
    # (and then scrubs the rows we add). Unknown businesses are still recorded.
    return dict(await conn.fetch(
        "select id, erased_at from businesses where id = any($1::uuid[]) order by id for share", list(business_ids),
    ))


async def insert_timeline_entries(
    conn: asyncpg.Connection, rows: Iterable[tuple[UUID, UUID, str, str, datetime, str, dict[str, Any]]]
) -> None:
    """(event_id, business_id, event_type, source, occurred_at, summary, data) each; an event already there stays."""
    await conn.executemany(
        """insert into timeline (event_id, business_id, event_type, source, occurred_at, summary, data)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict (event_id) do nothing""",
        list(rows),
    )


async def lock_timeline_until(conn: asyncpg.Connection, business_id: UUID, until: datetime) -> list[asyncpg.Record]:
    """The business's timeline entries up to `until` (event_id, event_type, data), locked."""
    return await conn.fetch(
        "select event_id, event_type, data from timeline where business_id = $1 and occurred_at <= $2 for update", business_id, until
    )


async def rewrite_timeline_entry(conn: asyncpg.Connection, event_id: UUID, data: dict[str, Any], summary: str) -> None:
    await conn.execute("update timeline set data = $2, summary = $3 where event_id = $1", event_id, data, summary)


# ---------------------------------------------------------------- erasure


async def mark_erased(conn: asyncpg.Connection, business_id: UUID) -> datetime:
    """Stamp the business erased now (the transaction's clock); the time stamped."""
    return await conn.fetchval(
        "update businesses set erased_at = clock_timestamp(), updated_at = now() where id = $1 returning erased_at", business_id
    )


async def anonymise_consents(conn: asyncpg.Connection, business_id: UUID) -> int:
    """Drop the personal details of the business's consents (their ids, agencies and times stay); how many changed."""
    return _count(await conn.execute(
        """update consents set owner_id = null, signed_by = null, note = null, withdrawal_note = null
           where business_id = $1 and (owner_id is not null or signed_by is not null or note is not null or withdrawal_note is not null)""",
        business_id,
    ))


async def delete_owners(conn: asyncpg.Connection, business_id: UUID) -> int:
    return _count(await conn.execute("delete from owners where business_id = $1", business_id))


async def add_stage_change(
    conn: asyncpg.Connection, *, event_id: UUID, business_id: UUID, from_stage: str, to_stage: str, reason_code: str,
    reason: str | None, changed_on: date,
) -> None:
    await conn.execute(
        """insert into stage_changes (event_id, business_id, from_stage, to_stage, reason_code, reason, changed_on)
           values ($1, $2, $3, $4, $5, $6, $7)""",
        event_id, business_id, from_stage, to_stage, reason_code, reason, changed_on,
    )


async def blank_stage_reasons(conn: asyncpg.Connection, business_id: UUID) -> int:
    return _count(await conn.execute("update stage_changes set reason = null where business_id = $1 and reason is not null", business_id))


async def blank_support_notes(conn: asyncpg.Connection, business_id: UUID) -> int:
    return _count(await conn.execute("update support_requests set note = null where business_id = $1 and note is not null", business_id))


async def forget_stored_answers(conn: asyncpg.Connection, business_id: UUID) -> None:
    """Stored answers of earlier POSTs about the business hold copies (an owner's name and
    phone, notes): delete them, except the erasures' own (they hold none, and a repeated
    erasure must get its first answer). An idempotency scope is the route's method and
    template and the caller (sangsaeng_common.idempotency.idempotency_scope)."""
    await conn.execute(
        """delete from idempotency_keys
           where response ->> 'business_id' = $1::text and scope not like 'POST /businesses/{business\\_id}/erasure:%'""",
        str(business_id),
    )


async def insert_erasure(
    conn: asyncpg.Connection, *, erasure_id: UUID, business_id: UUID, erased_at: datetime, requested_on: date, recorded_by: str
) -> None:
    await conn.execute(
        "insert into erasures (id, business_id, erased_at, requested_on, recorded_by) values ($1, $2, $3, $4, $5)",
        erasure_id, business_id, erased_at, requested_on, recorded_by,
    )
