"""The services' HTTP APIs as the demo uses them: one pooled client per service, a bounded
number of requests in flight, retries of what is worth retrying, and polling with a deadline."""

from __future__ import annotations

import asyncio
import os
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx

T = TypeVar("T")

SERVICES = ("intake", "visits", "loans", "referrals", "audit", "districts")


class DemoError(RuntimeError):
    """The demo cannot go on (an API refused something, or a wait timed out)."""


#: The development user each role acts as when a call names a role, not a person.
ROLE_SUBJECTS: dict[str, str] = {"staff": "S-1001", "planner": "P-2001", "loan_officer": "L-3001", "auditor": "A-4001",
                                 "operator": "O-5001"}


def subject_of_role(role: str) -> str:
    """`staff` -> S-1001; `agency:SEMAS` -> G-SEMAS (that agency's integration)."""
    if role.startswith("agency:"):
        return f"G-{role.removeprefix('agency:')}"
    try:
        return ROLE_SUBJECTS[role]
    except KeyError:
        raise DemoError(f"no development user acts as role {role}") from None


class TokenSource(Protocol):
    async def token_for(self, subject: str) -> str: ...


class IssuerTokens:
    """Access tokens from an OpenID Connect issuer's token endpoint, by the password grant of
    the development users (sangsaeng_devstack.users; the local issuer's password). One per
    subject, kept until a minute before it expires."""

    def __init__(self, issuer_url: str, password: str, *, timeout: float = 10.0):
        self.issuer_url, self.password, self.timeout = issuer_url.rstrip("/"), password, timeout
        self._token_url: str | None = None
        self._held: dict[str, tuple[float, str]] = {}
        self._lock = asyncio.Lock()

    @classmethod
    def from_env(cls) -> IssuerTokens:
        """The issuer AUTH_ISSUER names (else `make run`'s local one), with DEMO_PASSWORD (else the development password)."""
        from sangsaeng_devstack.issuer import DEFAULT_PORT, DEV_PASSWORD

        return cls(os.environ.get("AUTH_ISSUER") or f"http://127.0.0.1:{DEFAULT_PORT}", os.environ.get("DEMO_PASSWORD") or DEV_PASSWORD)

    async def token_for(self, subject: str) -> str:
        held = self._held.get(subject)
        if held is not None and held[0] > time.monotonic():
            return held[1]
        async with self._lock:  # one token request per subject, however many calls wait for it
            held = self._held.get(subject)
            if held is not None and held[0] > time.monotonic():
                return held[1]
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                if self._token_url is None:
                    discovery = await client.get(f"{self.issuer_url}/.well-known/openid-configuration")
                    discovery.raise_for_status()
                    self._token_url = discovery.json()["token_endpoint"]
                answer = await client.post(self._token_url, data={"grant_type": "password", "username": subject,
                                                                  "password": self.password, "client_id": "sangsaeng-demo"})
            if answer.status_code != 200:
                raise DemoError(f"the issuer refused a token for {subject}: HTTP {answer.status_code} {answer.text[:200]}")
            body = answer.json()
            self._held[subject] = (time.monotonic() + float(body.get("expires_in", 300)) - 60, body["access_token"])
            return body["access_token"]


# Answers that mean "not yet": an event the command depends on has not reached the service.
_NOT_YET = ("has not arrived yet",)


@dataclass
class Api:
    urls: dict[str, str]
    tokens: TokenSource  # a bearer token per subject (person or system) the demo acts as
    concurrency: int = 48
    timeout: float = 30.0
    POOL = 6  # connections per pool

    def __post_init__(self) -> None:
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

    async def token_for(self, subject: str) -> str:
        """The bearer token of one person or system (S-1001, P-2003, G-SEMAS)."""
        return await self.tokens.token_for(subject)

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        role: str | None = None,
        subject: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
        key: str | None = None,
        accept: tuple[int, ...] = (200, 201),
        deadline_s: float = 120.0,
        priority: bool = False,
    ) -> httpx.Response:
        """One call as `subject` (or the development user acting as `role`); retried (same
        Idempotency-Key) on connection errors, 503 and "not yet". A `priority` call (a poll)
        does not queue behind the bounded commands."""
        if subject is None:
            if role is None:
                raise DemoError("a call names the subject or the role it acts as")
            subject = subject_of_role(role)
        headers = {"Authorization": f"Bearer {await self.token_for(subject)}"}
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
