"""Database, roles and schemas for the services: each service owns one schema and nothing else."""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

__all__ = ["ROLE_PREFIX", "SEPARATE_OWNER", "ServiceDatabase", "database_url", "drop_database", "owner_role_name", "provision", "role_name"]

ROLE_PREFIX = "sangsaeng_"

#: Services whose schema another role owns (`sangsaeng_<service>_owner`, which runs the
#: migrations) while the service runs as `sangsaeng_<service>` with only the grants its
#: migrations give it: audit may only append to and read its ledger, never alter it.
SEPARATE_OWNER: frozenset[str] = frozenset({"audit"})

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")


def _ident(name: str, what: str) -> str:
    """Validate a lower-case SQL identifier and return it double-quoted."""
    if not _IDENT.match(name):
        raise ValueError(f"invalid {what} name {name!r}: use lower-case letters, digits and _")
    return f'"{name}"'


def role_name(service: str, role_prefix: str = ROLE_PREFIX) -> str:
    return f"{role_prefix}{service}"


def owner_role_name(service: str, role_prefix: str = ROLE_PREFIX) -> str:
    return f"{role_prefix}{service}_owner"


@dataclass(frozen=True)
class ServiceDatabase:
    """How a service logs in: its runtime role, and the schema owner's when they are apart."""

    url: str
    migration_url: str | None = None

    def env(self) -> dict[str, str]:
        """DATABASE_URL (and MIGRATION_DATABASE_URL), as sangsaeng_common's settings read them."""
        return {"DATABASE_URL": self.url} | ({"MIGRATION_DATABASE_URL": self.migration_url} if self.migration_url else {})


def database_url(url: str, database: str, user: str | None = None, password: str | None = None) -> str:
    """``url`` with its database (and optionally its credentials) replaced; query kept."""
    parts = urlsplit(url)
    hostport = parts.netloc.rpartition("@")[2]
    if user is None:
        userinfo = parts.netloc.rpartition("@")[0]
    else:
        userinfo = quote(user, safe="")
        if password is not None:
            userinfo += ":" + quote(password, safe="")
    netloc = f"{userinfo}@{hostport}" if userinfo else hostport
    return urlunsplit((parts.scheme, netloc, "/" + quote(database, safe=""), parts.query, ""))


async def provision(
    admin_url: str,
    database: str,
    services: Sequence[str],
    *,
    role_prefix: str = ROLE_PREFIX,
    separate_owner: Collection[str] = SEPARATE_OWNER,
) -> dict[str, ServiceDatabase]:
    """Create ``database`` if missing and, per service, a role that owns one schema.

    For each service: LOGIN role ``sangsaeng_<service>`` with a fresh random password (reset
    if the role exists), schemas ``<service>`` and ``<service>_replay`` (a replay's scratch)
    owned by it, ``search_path`` set to that schema for the role in this database, and
    CONNECT + TEMP on the database. PUBLIC loses every database privilege and CREATE on
    schema ``public``, so a service role can touch nothing but its own schema.

    A service in ``separate_owner`` gets a second LOGIN role ``sangsaeng_<service>_owner``
    that owns ``<service>`` (and whatever the runtime role owned there before) and runs the
    migrations; ``sangsaeng_<service>`` keeps only USAGE on that schema plus what the
    migrations grant it, and still owns its replay scratch.

    Returns service -> ServiceDatabase (``postgresql://<role>:<password>@host:port/<database>``).

    Roles are cluster-wide: provisioning a second database on the same server with the same
    services resets the passwords, so DSNs returned earlier stop working for new connections.
    Pass a distinct ``role_prefix`` to keep two stacks apart on one server.
    """
    db = _ident(database, "database")
    roles = {service: role_name(service, role_prefix) for service in services}
    owners = {service: owner_role_name(service, role_prefix) for service in services if service in separate_owner}
    for service in services:
        _ident(service, "service")
    for role in [*roles.values(), *owners.values()]:
        _ident(role, "role")

    admin = await asyncpg.connect(admin_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            try:
                await admin.execute(f"CREATE DATABASE {db}")
            except asyncpg.DuplicateDatabaseError:
                pass  # created concurrently
        passwords: dict[str, str] = {}
        for role in [*roles.values(), *owners.values()]:
            password = secrets.token_urlsafe(24)
            passwords[role] = password
            has_role = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if has_role else "CREATE"
            # Utility statements take no bind parameters: quote the literal ourselves
            # (token_urlsafe only yields [A-Za-z0-9_-], so nothing to escape anyway).
            await admin.execute(
                f"{verb} ROLE {_ident(role, 'role')} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                f"NOREPLICATION NOBYPASSRLS PASSWORD '{password}'"
            )
    finally:
        await admin.close()

    conn = await asyncpg.connect(database_url(admin_url, database))
    try:
        async with conn.transaction():
            await conn.execute(f"REVOKE ALL ON DATABASE {db} FROM PUBLIC")
            await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            for service, role in roles.items():
                r, s = _ident(role, "role"), _ident(service, "service")
                owner = owners.get(service, role)
                o = _ident(owner, "role")
                for login in {r, o}:
                    await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {login}")
                    await conn.execute(f"ALTER ROLE {login} IN DATABASE {db} SET search_path = {s}")
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s} AUTHORIZATION {o}")
                await conn.execute(f"ALTER SCHEMA {s} OWNER TO {o}")
                if owner != role:
                    await _hand_over(conn, service, role, owner)
                    await conn.execute(f"GRANT USAGE ON SCHEMA {s} TO {r}")
                # The scratch schema a replay rebuilds the read models in (sangsaeng_common.replay):
                # a throwaway the service's runtime role rebuilds as it likes.
                scratch = _ident(f"{service}_replay", "service")
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {scratch} AUTHORIZATION {r}")
                await conn.execute(f"ALTER SCHEMA {scratch} OWNER TO {r}")
    finally:
        await conn.close()

    def url(role: str) -> str:
        return database_url(admin_url, database, user=role, password=passwords[role])

    return {
        service: ServiceDatabase(url(role), url(owners[service]) if service in owners else None)
        for service, role in roles.items()
    }


async def _hand_over(conn: asyncpg.Connection, schema: str, runtime: str, owner: str) -> None:
    """Tables and functions that ``runtime`` created in ``schema`` (when it still owned it)
    now belong to ``owner``; the runtime role keeps only what migrations grant it."""
    await conn.execute(
        f"""DO $$
        DECLARE obj record;
        BEGIN
            FOR obj IN SELECT c.oid::regclass AS name FROM pg_class c
                        WHERE c.relnamespace = '{schema}'::regnamespace AND c.relowner = '{runtime}'::regrole
                          AND c.relkind IN ('r', 'p', 'v', 'm', 'f') LOOP
                EXECUTE format('ALTER TABLE %s OWNER TO %I', obj.name, '{owner}');
            END LOOP;
            FOR obj IN SELECT p.oid::regprocedure AS name FROM pg_proc p
                        WHERE p.pronamespace = '{schema}'::regnamespace AND p.proowner = '{runtime}'::regrole LOOP
                EXECUTE format('ALTER ROUTINE %s OWNER TO %I', obj.name, '{owner}');
            END LOOP;
        END $$"""
    )


async def drop_database(admin_url: str, database: str) -> None:
    """Drop ``database`` if it exists, disconnecting its sessions first. Roles are kept."""
    db = _ident(database, "database")
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    finally:
        await admin.close()
