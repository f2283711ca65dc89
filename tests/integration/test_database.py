"""Migrations, and the consumer riding out a database outage (least-privilege roles: tests/chaos/test_access.py)."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from sangsaeng_common.db import Migration, MigrationError, migrate
from tests.support import STAFF, business_body, eventually, url_for

MIGRATIONS = [
    Migration("t/0001_a", "create table a (id int primary key)"),
    Migration("t/0002_b", "create table b (id int primary key); insert into a values (1)"),
]


async def test_replicas_migrating_at_once_apply_each_file_once(stack):
    admin = await stack.db()
    await admin.execute("create schema scratch")
    connections = [await asyncpg.connect(stack.admin_url, server_settings={"search_path": "scratch"}) for _ in range(4)]
    try:
        applied = await asyncio.gather(*[migrate(c, "scratch", MIGRATIONS) for c in connections])
        assert sorted(v for result in applied for v in result) == ["t/0001_a", "t/0002_b"]
        assert await admin.fetchval("select count(*) from scratch.a") == 1
        assert await admin.fetchval("select count(*) from scratch.schema_migrations") == 2

        changed = [MIGRATIONS[0], Migration("t/0002_b", "create table b (id bigint primary key)")]
        with pytest.raises(MigrationError, match="t/0002_b was changed"):
            await migrate(connections[0], "scratch", changed)
        added = [*MIGRATIONS, Migration("t/0003_c", "create table c ()")]
        assert await migrate(connections[1], "scratch", added) == ["t/0003_c"]
    finally:
        for c in connections:
            await c.close()
        await admin.close()


async def test_consumer_retries_through_lost_database_connections_and_skips_nothing(stack):
    intake, visits = await asyncio.gather(stack.start("intake"), stack.start("visits"))
    admin = await stack.db()
    accepted: list[str] = []
    stop = asyncio.Event()

    async def cut_connections() -> None:
        # Keep cutting every connection visits has while it consumes.
        while not stop.is_set():
            await admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where usename = 'sangsaeng_visits'")
            await asyncio.sleep(0.05)

    async def count_in_visits() -> int:
        return await admin.fetchval("select count(*) from visits.businesses where id = any($1::uuid[])", accepted)

    try:
        async with httpx.AsyncClient(timeout=10) as client:
            async def register() -> None:
                response = await client.post(url_for(intake, "/businesses"), json=business_body(), headers=STAFF)
                assert response.status_code == 201
                accepted.append(response.json()["id"])

            await register()
            await eventually(count_in_visits, what="visits to be consuming")
            cutter = asyncio.create_task(cut_connections())
            for _ in range(40):
                await register()
                await asyncio.sleep(0.05)
            await asyncio.sleep(2)
            stop.set()
            await cutter

        await eventually(lambda: _equals(count_in_visits, len(accepted)), timeout=90, what="every registration in visits")
        assert await admin.fetchval("select count(*) from visits.inbox") == len(accepted)
        assert await admin.fetchval("select sum(businesses) from visits.dong_business_counts") == len(accepted)
    finally:
        stop.set()
        await admin.close()
    log = visits.log_path.read_text(encoding="utf-8")
    assert "transient fault applying batch" in log or "consumer fault" in log  # the faults did hit the consumer


async def _equals(count, expected: int) -> bool:
    return await count() == expected
