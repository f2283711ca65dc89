"""The services' HTTP APIs as the demo uses them: one pooled client per service, a bounded
number of requests in flight, retries of what is worth retrying, and polling with a deadline."""

from __future__ import annotations

import asyncio
import json
import os
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

SERVICES = ("intake", "visits", "loans", "referrals", "audit", "districts")


class DemoError(RuntimeError):
    """The demo cannot go on (an API refused something, or a wait timed out)."""


def tokens_by_role(auth_tokens: str | None = None) -> dict[str, str]:
    """role -> bearer token and subject -> bearer token, from AUTH_TOKENS (JSON token -> role, or
    token -> {"role", "subject", ...} for a person) or the development tokens. A role's token is
    its role token if there is one, else one of its people's."""
    raw = auth_tokens if auth_tokens is not None else os.environ.get("AUTH_TOKENS")
    if raw:
        mapping = json.loads(raw)
    else:
        from sangsaeng_devstack.tokens import DEV_TOKENS

        mapping = DEV_TOKENS
    by_role: dict[str, str] = {}
    people = [(token, who) for token, who in mapping.items() if isinstance(who, dict)]
    for token, role in mapping.items():
        if not isinstance(role, dict):
            by_role.setdefault(str(role), token)
    for token, who in people:
        if who.get("subject"):
            by_role.setdefault(who["subject"], token)
        by_role.setdefault(f"agency:{who['agency']}" if who.get("agency") else who["role"], token)
    return by_role


# Answers that mean "not yet": an event the command depends on has not reached the service.
_NOT_YET = ("has not arrived yet",)


@dataclass
class Api:
    urls: dict[str, str]
    tokens: dict[str, str]  # role -> token, and subject (a person: "P-2001") -> token
    concurrency: int = 48
    timeout: float = 30.0
    POOL = 6  # connections per pool

    def __post_init__(self) -> None:
        missing = [r for r in ("staff", "planner", "loan_officer", "auditor") if r not in self.tokens]
        if missing:
            raise DemoError(f"no bearer token for role(s) {', '.join(missing)} (AUTH_TOKENS)")
        self._sem = asyncio.Semaphore(self.concurrency)
        # httpcore checks every pooled connection on every request (a select() each), so a
        # pool as wide as the concurrency costs more client CPU than the request itself:
        # several small pools per service instead, taken in turn.
        shards = max(1, -(-self.concurrency // self.POOL))
        limits = httpx.Limits(max_connections=self.POOL, max_keepalive_connections=self.POOL)
        tls = ssl.create_default_context()  # one for all: each client would otherwise load the CA bundle anew
        self._clients = {
            name: [httpx.AsyncClient(base_url=url, limits=limits, timeout=self.timeout, verify=tls) for _ in range(shards)]
            for name, url in self.urls.items()
        }
        self._turn = 0
        self.requests = 0

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for pools in self._clients.values() for c in pools))

    def token(self, role: str) -> str:
        try:
            return self.tokens[role]
        except KeyError:
            raise DemoError(f"no bearer token for {role} (AUTH_TOKENS)") from None

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        role: str,
        as_: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
        key: str | None = None,
        accept: tuple[int, ...] = (200, 201),
        deadline_s: float = 120.0,
        priority: bool = False,
    ) -> httpx.Response:
        """One call; retried (same Idempotency-Key) on connection errors, 503 and "not yet".
        A `priority` call (a poll) does not queue behind the bounded commands. `as_` names the
        person (subject) who gives the command, e.g. the visit's assigned planner; without it,
        the role's token."""
        headers = {"Authorization": f"Bearer {self.token(as_ or role)}"}
        if key:
            # The key names the command: as its correlation id it marks the command's events
            # (ce_correlationid), and every retry of the command carries the same one.
            headers["Idempotency-Key"] = headers["X-Correlation-ID"] = key
        pools = self._clients[service]
        deadline = time.monotonic() + deadline_s
        delay = 0.05
        while True:
            try:
                self._turn += 1
                client = pools[self._turn % len(pools)]
                self.requests += 1
                if priority:
                    response = await client.request(method, path, json=body, params=params, headers=headers)
                else:
                    async with self._sem:
                        response = await client.request(method, path, json=body, params=params, headers=headers)
                if response.status_code in accept:
                    return response
                retry = response.status_code in (502, 503, 504) or (
                    response.status_code == 422 and any(s in response.text for s in _NOT_YET)
                )
                if not retry:
                    return response
                last = f"HTTP {response.status_code}: {response.text[:300]}"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise DemoError(f"{method} {service}{path} failed after {deadline_s:.0f}s: {last}")
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)

    async def call(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        """`request`, and anything but the accepted statuses is an error; returns the JSON."""
        response = await self.request(service, method, path, **kwargs)
        if response.status_code not in kwargs.get("accept", (200, 201)):
            raise DemoError(f"{method} {service}{path}: HTTP {response.status_code}: {response.text[:500]}")
        return response.json()

    async def ready(self, service: str) -> bool:
        try:
            return (await self._clients[service][0].get("/ready", timeout=2.0)).status_code == 200
        except httpx.HTTPError:
            return False


async def poll(check: Callable[[], Awaitable[T | None]], *, what: str, timeout: float = 120.0, interval: float = 0.25) -> T:
    """Call `check` until it returns something truthy; DemoError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


async def services_ready(urls: dict[str, str]) -> bool:
    """True if every service answers 200 on /ready."""
    async with httpx.AsyncClient(timeout=2.0) as client:

        async def one(url: str) -> bool:
            try:
                return (await client.get(f"{url}/ready")).status_code == 200
            except httpx.HTTPError:
                return False

        return all(await asyncio.gather(*(one(u) for u in urls.values())))
