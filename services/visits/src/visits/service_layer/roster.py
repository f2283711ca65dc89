"""The planners' roster, kept by staff: each handler runs in one unit of work, locks the roster
(adapters/roster.lock_roster), checks the change with visits.domain.roster and emits its event
through the outbox. Scheduling reads the planners' rows, so the next assignment uses a change
as soon as it commits."""

from __future__ import annotations

from datetime import date

from sangsaeng_common.contracts.visits import PlannerAdded, PlannerChanged, PlannerTerritoryChanged
from sangsaeng_common.errors import Conflict, Invalid, NotFound, invalid
from sangsaeng_common.pii import refuse_resident_numbers
from sangsaeng_common.tx import Tx
from visits.adapters import roster as store
from visits.domain import roster as rules
from visits.domain.planning import Planner
from visits.service_layer.commands import AddPlanner, ChangePlanner, ChangeTerritory


def _refuse_uncovering(dongs: list[str], planner_id: str) -> None:
    if dongs:
        raise Conflict(
            "A dong would have no active planner",
            f"the change to {planner_id} leaves {', '.join(dongs)} without an active planner (rule {rules.EVERY_DONG_COVERED}); "
            "give the dong to another planner first",
            rule=rules.EVERY_DONG_COVERED, dongs=dongs,
        )


def _find(roster: list[Planner], planner_id: str) -> Planner:
    for planner in roster:
        if planner.id == planner_id:
            return planner
    raise NotFound("Planner not found", f"no planner {planner_id}")


async def add_planner(tx: Tx, cmd: AddPlanner, *, today: date) -> Planner:
    errors = rules.territory_errors(cmd.dongs)
    if not rules.PLANNER_ID.match(cmd.planner_id):
        errors.insert(0, ("id", "planner-, then 1 to 40 lower-case letters, digits or hyphens (a code, never a person's name)"))
    if errors:
        raise Invalid(errors)
    refuse_resident_numbers({"name": cmd.name})
    await store.lock_roster(tx.conn)
    planner = Planner(cmd.planner_id, frozenset(cmd.dongs), cmd.daily_capacity, cmd.active)
    if not await store.insert_planner(tx.conn, planner, cmd.name):
        raise Conflict("Planner exists", f"there is a planner {cmd.planner_id} already; change it with PATCH or PUT .../territory",
                       existing_id=cmd.planner_id)
    await tx.emit(PlannerAdded(planner_id=planner.id, daily_capacity=planner.daily_capacity, territory=rules.in_district_order(planner.territory),
                               active=planner.active, added_on=today))
    return planner


async def change_planner(tx: Tx, cmd: ChangePlanner, *, today: date) -> Planner:
    if cmd.daily_capacity is None and cmd.active is None:
        raise invalid("daily_capacity", "give daily_capacity, active or both")
    roster = await store.lock_roster(tx.conn)
    before = _find(roster, cmd.planner_id)
    after = rules.with_changes(before, daily_capacity=cmd.daily_capacity, active=cmd.active)
    if after == before:
        return before
    _refuse_uncovering(rules.uncovered_by_change(roster, after), after.id)
    await store.update_planner(tx.conn, after, None)
    await tx.emit(PlannerChanged(planner_id=after.id, daily_capacity=after.daily_capacity, active=after.active,
                                 previous_daily_capacity=before.daily_capacity, previous_active=before.active, changed_on=today))
    return after


async def change_territory(tx: Tx, cmd: ChangeTerritory, *, today: date) -> Planner:
    if errors := rules.territory_errors(cmd.dongs):
        raise Invalid(errors)
    roster = await store.lock_roster(tx.conn)
    before = _find(roster, cmd.planner_id)
    after = rules.with_changes(before, territory=cmd.dongs)
    if after.territory == before.territory:
        return before
    _refuse_uncovering(rules.uncovered_by_change(roster, after), after.id)
    await store.set_territory(tx.conn, after.id, sorted(after.territory))
    await tx.emit(PlannerTerritoryChanged(
        planner_id=after.id, territory=rules.in_district_order(after.territory),
        added=rules.in_district_order(after.territory - before.territory), removed=rules.in_district_order(before.territory - after.territory),
        changed_on=today,
    ))
    return after
