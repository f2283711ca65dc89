"""deploy/base/db/init-db.sh (compose's db-init, the Kubernetes db-init Job) run for real with
psql against the test PostgreSQL: every service gets a role that owns its schema and its
replay scratch schema, can log in with its password, and can touch nothing else; audit's schema
is owned by a separate migration role, and audit's own role only uses it."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from sangsaeng_devstack.postgres import pg_bin_dir
from sangsaeng_devstack.provision import SEPARATE_OWNER, database_url, drop_database

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["intake", "visits", "loans", "referrals", "audit", "districts"]


def run_script(admin_url: str, database: str, prefix: str, passwords: dict[str, str]) -> subprocess.CompletedProcess:
    url = urlsplit(admin_url)
    env = {
        **os.environ,
        "PATH": f"{pg_bin_dir()}:{os.environ['PATH']}",
        "PGHOST": url.hostname or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PGPASSWORD": url.password or "",
        "SANGSAENG_DATABASE": database,
        "SANGSAENG_ROLE_PREFIX": prefix,
        "SANGSAENG_SERVICES": " ".join(SERVICES),
        "SANGSAENG_SEPARATE_OWNER": " ".join(sorted(SEPARATE_OWNER)),
        **{f"SANGSAENG_DB_PASSWORD_{s.upper()}": p for s, p in passwords.items()},
    }
    return subprocess.run(["bash", str(ROOT / "deploy/base/db/init-db.sh")], env=env, capture_output=True, text=True, timeout=120)


async def test_init_db_creates_one_role_and_schema_per_service_and_rotates_passwords(postgres_server):
    admin = postgres_server.admin_url
    database = f"t_{uuid.uuid4().hex[:10]}"
    prefix = f"d{uuid.uuid4().hex[:6]}_"
    try:
        first = {s: f"first-{s}" for s in SERVICES} | {f"{s}_owner": f"first-{s}-owner" for s in SEPARATE_OWNER}
        out = run_script(admin, database, prefix, first)
        assert out.returncode == 0, out.stderr
        again = {s: f"second-{s}" for s in SERVICES} | {f"{s}_owner": f"second-{s}-owner" for s in SEPARATE_OWNER}
        out = run_script(admin, database, prefix, again)  # idempotent; rotates the passwords
        assert out.returncode == 0, out.stderr

        for service in SERVICES:
            role = f"{prefix}{service}"
            separate = service in SEPARATE_OWNER
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(database_url(admin, database, user=role, password=first[service]))
            conn = await asyncpg.connect(database_url(admin, database, user=role, password=again[service]))
            try:
                assert await conn.fetchval("show search_path") == service
                owned = await conn.fetch("select nspname from pg_namespace where nspowner = (select oid from pg_roles where rolname = $1)", role)
                assert {r["nspname"] for r in owned} == ({f"{service}_replay"} if separate else {service, f"{service}_replay"})
                if separate:  # only the owner creates (migrates) there; the service's role uses what it is granted
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await conn.execute("create table t (x int)")
                    owner = await asyncpg.connect(database_url(admin, database, user=f"{role}_owner", password=again[f"{service}_owner"]))
                    try:
                        assert await owner.fetchval("show search_path") == service
                        await owner.execute("create table t (x int)")
                        await owner.execute(f"grant select, insert on t to {role}")
                    finally:
                        await owner.close()
                    await conn.execute("insert into t values (1)")
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await conn.execute("drop table t")
                else:
                    await conn.execute("create table t (x int)")  # in its own schema
                await conn.execute(f"create table {service}_replay.t (x int)")
                other = next(s for s in SERVICES if s != service)
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(f"create table {other}.t (x int)")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute("create table public.t (x int)")
            finally:
                await conn.close()
    finally:
        await drop_database(admin, database)
        conn = await asyncpg.connect(admin)
        try:
            for role in [*SERVICES, *(f"{s}_owner" for s in SEPARATE_OWNER)]:
                await conn.execute(f'drop role if exists "{prefix}{role}"')
        finally:
            await conn.close()
