"""Idempotency-Key: a POST repeated with the same key gets the first answer, once per
caller and route, stored in the same transaction as the command's effects."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import Header, Request

from sangsaeng_common.http import Problem

# The header every POST takes (pass the value to Runtime.command).
IdempotencyKey = Header(None, alias="Idempotency-Key", description="repeat a POST safely: the same key gets the first answer")


def idempotency_scope(request: Request) -> str:
    """Where a POST's Idempotency-Keys are remembered: its method and route template
    ("POST /things/{thing_id}/close"), the same for every id, never typed by hand."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


async def idempotent(
    conn: asyncpg.Connection,
    *,
    scope: str,
    key: str | None,
    request_body: Any,
    command: Callable[[], Awaitable[tuple[int, Any]]],
) -> tuple[int, Any, bool]:
    """Run `command` once per (scope, Idempotency-Key); a repeat gets the first answer.

    Runs inside the command's transaction: the stored answer commits with the effects.
    The key row is inserted first; a concurrent request with the same key blocks on
    that insert until the first transaction ends, then finds the stored answer.
    Returns (status, body, replayed).
    """
    if key is None:
        status, body = await command()
        return status, body, False
    if not 1 <= len(key) <= 200:
        raise Problem.invalid("Idempotency-Key", "must be 1 to 200 characters")
    request_hash = hashlib.sha256(json.dumps(request_body, sort_keys=True, default=str).encode()).hexdigest()
    inserted = await conn.fetchval(
        """insert into idempotency_keys (scope, key, request_hash) values ($1, $2, $3)
           on conflict do nothing returning true""",
        scope,
        key,
        request_hash,
    )
    if not inserted:
        stored = await conn.fetchrow("select request_hash, status_code, response from idempotency_keys where scope = $1 and key = $2", scope, key)
        if stored["request_hash"] != request_hash:
            raise Problem(422, "Idempotency-Key reused", "this Idempotency-Key was used with a different request body")
        return stored["status_code"], stored["response"], True
    status, body = await command()
    await conn.execute(
        "update idempotency_keys set status_code = $3, response = $4 where scope = $1 and key = $2", scope, key, status, body
    )
    return status, body, False
