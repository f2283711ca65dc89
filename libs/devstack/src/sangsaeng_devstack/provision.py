"""Database, roles and schemas for the services: each service owns one schema and nothing else."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

__all__ = ["ROLE_PREFIX", "database_url", "drop_database", "provision", "role_name"]

ROLE_PREFIX = "sangsaeng_"

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")


def _ident(name: str, what: str) -> str:
    """Validate a lower-case SQL identifier and return it double-quoted."""
    if not _IDENT.match(name):
        raise ValueError(f"invalid {what} name {name!r}: use lower-case letters, digits and _")
    return f'"{name}"'


def role_name(service: str, role_prefix: str = ROLE_PREFIX) -> str:
    return f"{role_prefix}{service}"


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
) -> dict[str, str]:
    """Create ``database`` if missing and, per service, a role that owns one schema.

    For each service: LOGIN role ``sangsaeng_<service>`` with a fresh random password (reset
    if the role exists), schemas ``<service>`` and ``<service>_replay`` (a replay's scratch) owned by it, ``search_path`` set to that schema
    for the role in this database, and CONNECT + TEMP on the database. PUBLIC loses every
    database privilege and CREATE on schema ``public``, so a service role can touch nothing
    but its own schema.

    Returns service -> DSN ``postgresql://sangsaeng_<service>:<password>@host:port/<database>``.

    Roles are cluster-wide: provisioning a second database on the same server with the same
    services resets the passwords, so DSNs returned earlier stop working for new connections.
    Pass a distinct ``role_prefix`` to keep two stacks apart on one server.
    """
    db = _ident(database, "database")
    roles = {service: role_name(service, role_prefix) for service in services}
    for service, role in roles.items():
        _ident(service, "service")
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
        for role in roles.values():
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
                await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}")
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s} AUTHORIZATION {r}")
                await conn.execute(f"ALTER SCHEMA {s} OWNER TO {r}")
                # The scratch schema a replay rebuilds the read models in (sangsaeng_common.replay).
                scratch = _ident(f"{service}_replay", "service")
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {scratch} AUTHORIZATION {r}")
                await conn.execute(f"ALTER SCHEMA {scratch} OWNER TO {r}")
                await conn.execute(f"ALTER ROLE {r} IN DATABASE {db} SET search_path = {s}")
    finally:
        await conn.close()

    return {
        service: database_url(admin_url, database, user=role, password=passwords[role])
        for service, role in roles.items()
    }


async def drop_database(admin_url: str, database: str) -> None:
    """Drop ``database`` if it exists, disconnecting its sessions first. Roles are kept."""
    db = _ident(database, "database")
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    finally:
        await admin.close()
