"""Commands: each runs in one unit of work and emits its events through the outbox."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg
import uuid6

from intake.domain import business as rules
from intake.domain import registration
from intake.models import BusinessIn, StageChangeIn
from sangsaeng_common.contracts.intake import BusinessRegistered, BusinessStageChanged, Stage
from sangsaeng_common.http import Problem
from sangsaeng_common.unit_of_work import UnitOfWork


def refuse_resident_numbers(fields: dict[str, object]) -> None:
    """Resident registration numbers are never stored, wherever they appear."""
    for name, value in fields.items():
        if isinstance(value, str) and registration.contains_resident_number(value):
            raise Problem.invalid(name, "contains a resident registration number (주민등록번호), which is never stored")


async def register_business(uow: UnitOfWork, command: BusinessIn) -> asyncpg.Record:
    refuse_resident_numbers(command.model_dump())
    if (problem := rules.dong_error(command.dong, command.registered_on)) is not None:
        raise Problem.invalid("dong", problem)
    if command.registration_number is None and command.stage is not Stage.prospective:
        raise Problem.invalid("registration_number", "required unless the stage is prospective (a would-be founder)")
    business_id = uuid6.uuid7()
    micro = rules.is_micro_business(command.industry, command.employees)
    kind = registration.business_kind(command.registration_number) if command.registration_number else None
    try:
        async with uow.conn.transaction():  # savepoint, so a duplicate leaves the unit of work usable
            row = await uow.conn.fetchrow(
                """insert into businesses (id, registration_number, business_kind, name, dong, address, industry,
                                           employees, is_micro_business, stage, registered_on)
                   values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning *""",
                business_id, command.registration_number, kind, command.name, command.dong, command.address,
                command.industry, command.employees, micro, command.stage.value, command.registered_on,
            )
    except asyncpg.UniqueViolationError:
        existing = await uow.conn.fetchval("select id from businesses where registration_number = $1", command.registration_number)
        raise Problem(
            409,
            "Business already registered",
            f"registration_number {command.registration_number} belongs to business {existing}",
            headers={"Location": f"/businesses/{existing}"},
            existing_id=str(existing),
        ) from None
    await uow.emit(
        BusinessRegistered(
            business_id=business_id,
            registration_number=command.registration_number,
            name=command.name,
            dong=command.dong,
            industry=command.industry,
            employees=command.employees,
            is_micro_business=micro,
            stage=command.stage,
            registered_on=command.registered_on,
        )
    )
    return row


async def change_stage(uow: UnitOfWork, business_id: UUID, command: StageChangeIn) -> asyncpg.Record:
    refuse_resident_numbers({"reason": command.reason})
    # FOR UPDATE: two stage changes of one business are decided one after the other,
    # each against the stage the other left.
    current = await uow.conn.fetchval("select stage from businesses where id = $1 for update", business_id)
    if current is None:
        raise Problem(404, "Business not found", f"no business {business_id}")
    try:
        rules.check_stage_move(Stage(current), command.stage)
    except rules.StageChangeRefused as refused:
        raise Problem(
            409, "Stage change refused", str(refused), current=refused.current.value, allowed=[s.value for s in refused.allowed]
        ) from None
    row = await uow.conn.fetchrow(
        "update businesses set stage = $2, updated_at = now() where id = $1 returning *", business_id, command.stage.value
    )
    await uow.emit(
        BusinessStageChanged(
            business_id=business_id,
            from_stage=Stage(current),
            to_stage=command.stage,
            reason=command.reason,
            changed_on=command.changed_on or date.today(),
        )
    )
    return row
