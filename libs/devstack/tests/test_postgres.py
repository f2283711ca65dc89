"""The embedded PostgreSQL and provisioning: one role per service, owning only its schema."""

from __future__ import annotations

import os
import re

import asyncpg
import pytest

from sangsaeng_devstack.postgres import ExternalPostgres, Postgres, postgres_from_env_or_start
from sangsaeng_devstack.provision import database_url, drop_database, provision

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg():
    with Postgres() as server:
        yield server


async def test_listens_on_tcp_localhost(pg: Postgres) -> None:
    assert re.fullmatch(r"postgresql://postgres:[\w-]+@127\.0\.0\.1:\d+/postgres", pg.admin_url)
    with pytest.raises(asyncpg.InvalidPasswordError):  # a password is required over TCP
        await asyncpg.connect(pg.admin_url.replace(f":{pg.superuser_password}@", ":wrong@"))
    assert pg.port != 5432
    conn = await asyncpg.connect(pg.admin_url)
    try:
        assert await conn.fetchval("SHOW max_connections") == "300"
        assert await conn.fetchval("SHOW fsync") == "off"
        assert await conn.fetchval("SELECT current_setting('server_encoding')") == "UTF8"
        assert await conn.fetchval("SELECT $1::text", "동대문 바른분식") == "동대문 바른분식"
    finally:
        await conn.close()


def test_stop_removes_process_and_data() -> None:
    server = Postgres().start()
    pid, base = server.pid, server.base_dir
    assert base is not None and (base / "data" / "PG_VERSION").exists()
    server.stop()
    assert not server.running and not base.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    server.stop()  # idempotent


async def test_provision_isolates_services(pg: Postgres) -> None:
    dsns = {s: db.url for s, db in (await provision(pg.admin_url, "devstack_iso", ["intake", "visits"])).items()}
    assert set(dsns) == {"intake", "visits"}
    assert re.fullmatch(
        rf"postgresql://sangsaeng_intake:[A-Za-z0-9_-]+@127\.0\.0\.1:{pg.port}/devstack_iso", dsns["intake"]
    )
    intake = await asyncpg.connect(dsns["intake"])
    visits = await asyncpg.connect(dsns["visits"])
    try:
        # each role works in its own schema, which is also its search_path
        assert await intake.fetchval("SHOW search_path") == "intake"
        await intake.execute("CREATE TABLE businesses (id int primary key, name text)")
        await intake.execute("INSERT INTO businesses VALUES (1, '동대문 바른분식')")
        assert await intake.fetchval("SELECT count(*) FROM intake.businesses") == 1
        await visits.execute("CREATE TABLE visits (id int)")
        await intake.execute("CREATE TEMP TABLE scratch (x int)")  # TEMP is granted

        # ... and cannot touch the other's schema
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await visits.fetch("SELECT * FROM intake.businesses")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await visits.execute("CREATE TABLE intake.sneaky (x int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await intake.execute("DROP TABLE visits.visits")
        # nor create anything in public, nor new schemas
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await visits.execute("CREATE TABLE public.t (x int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await visits.execute("CREATE SCHEMA extra")
        # the roles are plain
        flags = await intake.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        assert tuple(flags) == (False, False, False)
    finally:
        await intake.close()
        await visits.close()

    # no role may connect to other databases via PUBLIC's default CONNECT
    other = database_url(dsns["intake"], "devstack_other")
    await provision(pg.admin_url, "devstack_other", ["audit"])
    with pytest.raises((asyncpg.InsufficientPrivilegeError, asyncpg.InvalidPasswordError)):
        conn = await asyncpg.connect(other)
        await conn.close()
    await drop_database(pg.admin_url, "devstack_other")


async def test_provision_again_keeps_data_and_resets_password(pg: Postgres) -> None:
    first = {s: db.url for s, db in (await provision(pg.admin_url, "devstack_again", ["loans"])).items()}
    conn = await asyncpg.connect(first["loans"])
    await conn.execute("CREATE TABLE applications (id int)")
    await conn.close()
    verifier = "SELECT rolpassword FROM pg_authid WHERE rolname = 'sangsaeng_loans'"
    admin = await asyncpg.connect(pg.admin_url)
    try:
        before = await admin.fetchval(verifier)
        second = {s: db.url for s, db in (await provision(pg.admin_url, "devstack_again", ["loans"])).items()}
        after = await admin.fetchval(verifier)
    finally:
        await admin.close()
    assert second["loans"] != first["loans"]
    assert before and after and before != after
    # Passwords are checked: the old credentials no longer open a session.
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(first["loans"])
    conn = await asyncpg.connect(second["loans"])
    try:
        assert await conn.fetchval("SELECT count(*) FROM applications") == 0
    finally:
        await conn.close()


async def test_provision_a_separate_owner_runs_migrations_and_the_service_role_only_uses_grants(pg: Postgres) -> None:
    # As before this existed: the service's role owned its schema and created a table there.
    before = await provision(pg.admin_url, "devstack_owner", ["audit"], separate_owner=())
    assert before["audit"].migration_url is None
    conn = await asyncpg.connect(before["audit"].url)
    await conn.execute("CREATE TABLE ledger (x int)")
    await conn.close()

    databases = await provision(pg.admin_url, "devstack_owner", ["audit"], separate_owner={"audit"})
    audit = databases["audit"]
    assert audit.env() == {"DATABASE_URL": audit.url, "MIGRATION_DATABASE_URL": audit.migration_url}
    assert audit.migration_url is not None and audit.migration_url.startswith("postgresql://sangsaeng_audit_owner:")
    owner, runtime = await asyncpg.connect(audit.migration_url), await asyncpg.connect(audit.url)
    try:
        owned = {r["nspname"]: r["owner"] for r in await owner.fetch(
            "SELECT nspname, nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname IN ('audit', 'audit_replay')")}
        assert owned == {"audit": "sangsaeng_audit_owner", "audit_replay": "sangsaeng_audit"}
        # what the runtime role had created was handed over to the owner
        assert await owner.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'ledger'") == "sangsaeng_audit_owner"
        await owner.execute("CREATE TABLE granted (x int)")
        await owner.execute("GRANT SELECT, INSERT ON granted TO sangsaeng_audit")
        assert await runtime.fetchval("SHOW search_path") == "audit"
        await runtime.execute("INSERT INTO granted VALUES (1)")
        assert await runtime.fetchval("SELECT count(*) FROM granted") == 1
        for statement in ("CREATE TABLE mine (x int)", "DROP TABLE granted", "DELETE FROM granted", "SELECT * FROM ledger"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await runtime.execute(statement)
        await runtime.execute("CREATE TABLE audit_replay.scratch (x int)")  # its replay scratch stays its own
    finally:
        await owner.close()
        await runtime.close()
    await drop_database(pg.admin_url, "devstack_owner")


async def test_drop_database_disconnects_sessions(pg: Postgres) -> None:
    databases = await provision(pg.admin_url, "devstack_drop", ["referrals"])
    conn = await asyncpg.connect(databases["referrals"].url)
    await drop_database(pg.admin_url, "devstack_drop")
    assert conn.is_closed() or not await _alive(conn)
    admin = await asyncpg.connect(pg.admin_url)
    try:
        assert await admin.fetchval("SELECT 1 FROM pg_database WHERE datname='devstack_drop'") is None
    finally:
        await admin.close()
    await drop_database(pg.admin_url, "devstack_drop")  # missing is fine


async def _alive(conn: asyncpg.Connection) -> bool:
    try:
        await conn.fetchval("SELECT 1")
        return True
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return False
    finally:
        conn.terminate()


async def test_rejects_bad_identifiers(pg: Postgres) -> None:
    with pytest.raises(ValueError):
        await provision(pg.admin_url, "bad-name", ["intake"])
    with pytest.raises(ValueError):
        await provision(pg.admin_url, "devstack_ok", ['intake"; DROP ROLE postgres; --'])


def test_database_url() -> None:
    url = "postgresql://admin:s3cr%40t@db.example:5433/postgres?sslmode=require"
    assert database_url(url, "x") == "postgresql://admin:s3cr%40t@db.example:5433/x?sslmode=require"
    assert database_url(url, "x", user="u", password="p@ss") == (
        "postgresql://u:p%40ss@db.example:5433/x?sslmode=require"
    )


def test_database_url_env_means_external(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@db.example:5432/postgres")
    server = postgres_from_env_or_start()
    assert isinstance(server, ExternalPostgres) and not server.controllable
    assert server.admin_url == "postgresql://postgres@db.example:5432/postgres"
    server.stop()  # a no-op
