"""What the roster's commands read, lock and write (visits.service_layer.roster decides), on
the caller's connection inside its unit of work."""

from __future__ import annotations

import asyncpg

from visits.adapters.repository import load_planners
from visits.domain.planning import Planner


async def lock_roster(conn: asyncpg.Connection) -> list[Planner]:
    """Every planner, its row locked, in id order: the order scheduling locks its candidates in,
    so a roster change and a scheduler wait for each other instead of deadlocking, and two
    roster changes cannot each leave a dong to the planner the other one removes."""
    await conn.execute("select id from planners order by id for update")
    return await load_planners(conn)


async def insert_planner(conn: asyncpg.Connection, planner: Planner, name: str) -> bool:
    """False when the id is taken."""
    added = await conn.fetchval(
        """insert into planners (id, name, daily_capacity, active) values ($1, $2, $3, $4)
           on conflict (id) do nothing returning id""",
        planner.id, name, planner.daily_capacity, planner.active,
    )
    if added is None:
        return False
    await conn.execute(
        "insert into planner_territories (planner_id, dong) select $1, unnest($2::text[])", planner.id, sorted(planner.territory)
    )
    return True


async def update_planner(conn: asyncpg.Connection, planner: Planner, name: str | None) -> None:
    await conn.execute(
        "update planners set daily_capacity = $2, active = $3, name = coalesce($4, name), updated_at = now() where id = $1",
        planner.id, planner.daily_capacity, planner.active, name,
    )


async def set_territory(conn: asyncpg.Connection, planner_id: str, dongs: list[str]) -> None:
    await conn.execute("delete from planner_territories where planner_id = $1 and not (dong = any($2::text[]))", planner_id, dongs)
    await conn.execute(
        "insert into planner_territories (planner_id, dong) select $1, unnest($2::text[]) on conflict do nothing", planner_id, dongs
    )
    await conn.execute("update planners set updated_at = now() where id = $1", planner_id)
