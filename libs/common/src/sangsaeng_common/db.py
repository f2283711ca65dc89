"""Database access: the service's asyncpg pool, its migrations, and what counts as transient."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from urllib.parse import unquote, urlsplit

import asyncpg

from sangsaeng_common.logging import get_logger

log = get_logger(__name__)

# Advisory-lock class ids (the first key of the two-key form), one per purpose, so that
# the lock spaces of different mechanisms never collide.
LOCK_MIGRATIONS = 7001
LOCK_RELAY_LEADER = 7002
LOCK_OUTBOX_KEY = 7003

# Errors after which the same work, tried again later, can succeed.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    # What asyncpg raises for the next statement when the server ended the session under a
    # transaction (pg_terminate_backend, a restart): "cannot switch to state ..; another
    # operation is in progress" (MagicStack/asyncpg#1069). The pool discards the connection.
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.PostgresConnectionError,  # class 08
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.QueryCanceledError,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def connect(dsn: str, schema: str, application_name: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(
        dsn, server_settings={"search_path": schema, "application_name": application_name}, timeout=10
    )
    await _init_connection(conn)
    return conn


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Pooled connections carry no session state to reset: search_path comes with the
    connection, locks are transaction-scoped, nothing SETs or LISTENs on them. asyncpg
    still rolls back an open transaction; this only saves the reset query, one round
    trip on every release."""


async def create_pool(dsn: str, schema: str, application_name: str, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        server_settings={"search_path": schema, "application_name": application_name},
        timeout=10,
        command_timeout=60,
    )


# ---------------------------------------------------------------- migrations


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str  # "common/0001_outbox" or "<service>/0001_<name>"
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations_in(package: str, prefix: str) -> list[Migration]:
    folder: Traversable = resources.files(package)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [Migration(f"{prefix}/{f.name.removesuffix('.sql')}", f.read_text(encoding="utf-8")) for f in files]


def service_migrations(service_package: str) -> list[Migration]:
    """Shared mechanisms' tables first (outbox, inbox, idempotency), then the service's own."""
    return migrations_in("sangsaeng_common.migrations", "common") + migrations_in(
        f"{service_package}.migrations", service_package
    )


# Migrations read the role the service runs as from this setting, to grant it exactly what
# it needs when another role owns the schema (see `migrate`).
RUNTIME_ROLE_SETTING = "sangsaeng.runtime_role"


async def _everything_applied(conn: asyncpg.Connection, migrations: list[Migration]) -> bool:
    """True when every migration is applied unchanged: then nothing needs the schema's owner
    (a runtime role that may only read `schema_migrations` can start)."""
    if not await conn.fetchval("select to_regclass('schema_migrations') is not null"):
        return False
    applied = {r["version"]: r["checksum"] for r in await conn.fetch("select version, checksum from schema_migrations")}
    return all(applied.get(m.version) == m.checksum for m in migrations)


async def migrate(conn: asyncpg.Connection, schema: str, migrations: list[Migration], runtime_role: str | None = None) -> list[str]:
    """Apply what is not applied yet, each file in its own transaction, in order.

    Several replicas may start at once: a session advisory lock makes them take turns,
    and whoever comes second finds everything applied. A file that was applied and has
    since changed is refused: history is not rewritten, a new file is added instead.

    `runtime_role` is the role the service runs as when the role connected here owns the
    schema and the service's own role must not (least privilege, e.g. an append-only table).
    Migrations grant it what it needs, reading its name with
    `current_setting('sangsaeng.runtime_role')`; without one, that is the connected role
    itself, and such grants are skipped.
    """
    if await _everything_applied(conn, migrations):
        return []
    applied_now: list[str] = []
    await conn.execute("select pg_advisory_lock($1, hashtext($2))", LOCK_MIGRATIONS, schema)
    try:
        await conn.execute("select set_config($1, coalesce($2, current_user), false)", RUNTIME_ROLE_SETTING, runtime_role)
        await conn.execute(
            """create table if not exists schema_migrations (
                   version text primary key,
                   checksum text not null,
                   applied_at timestamptz not null default now())"""
        )
        if runtime_role is not None:
            role = await conn.fetchval("select quote_ident($1)", runtime_role)
            await conn.execute(f"grant select on schema_migrations to {role}")  # to see that nothing is pending
        applied = {r["version"]: r["checksum"] for r in await conn.fetch("select version, checksum from schema_migrations")}
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version} was changed after it was applied "
                        f"(checksum {applied[migration.version][:12]} -> {migration.checksum[:12]}); "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "insert into schema_migrations (version, checksum) values ($1, $2)",
                    migration.version,
                    migration.checksum,
                )
            applied_now.append(migration.version)
            log.info("migration applied", version=migration.version)
    finally:
        await conn.execute("select pg_advisory_unlock($1, hashtext($2))", LOCK_MIGRATIONS, schema)
    return applied_now


def role_of(dsn: str) -> str | None:
    """The user a DSN logs in as (None when it names none and libpq's default applies)."""
    user = urlsplit(dsn).username
    return unquote(user) if user else None
