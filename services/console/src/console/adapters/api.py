"""Calls to the services' HTTP APIs with the signed-in person's own access token. The console reads no schema."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class ApiError(Exception):
    """A service answered 4xx/5xx (problem+json) or could not be reached (status 0)."""

    service: str
    status: int
    title: str
    detail: str = ""
    fields: dict[str, str] = field(default_factory=dict)  # field name -> message, from 422s
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.service} {self.status}: {self.title} {self.detail}".strip()


def _fields(problem: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            name = str(error.get("field") or error.get("loc") or "")
            found.setdefault(name, str(error.get("message") or error.get("msg") or ""))
    if problem.get("field"):
        found.setdefault(str(problem["field"]), str(problem.get("detail") or problem.get("title") or ""))
    return found


class Services:
    """One pooled client for all services; `call` raises ApiError."""

    def __init__(self, urls: dict[str, str], timeout_s: float):
        self.urls = urls
        self.client = httpx.AsyncClient(timeout=timeout_s, limits=httpx.Limits(max_connections=100, max_keepalive_connections=40))

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, token: str | None, service: str, method: str, path: str, *, params: dict[str, Any] | None = None,
                   json: Any = None, idempotency_key: str | None = None) -> Any:
        """One call as the person whose access `token` it is (None: an open route)."""
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = await self.client.request(method, self.urls[service] + path, params=clean, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise ApiError(service, 0, f"{service} 서비스에 연결할 수 없습니다", str(exc)) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {}
            retry = response.headers.get("Retry-After")
            raise ApiError(service, response.status_code, str(problem.get("title") or response.reason_phrase),
                           str(problem.get("detail") or ""), _fields(problem) if isinstance(problem, dict) else {},
                           float(retry) if retry and retry.replace(".", "", 1).isdigit() else None)
        return response.json() if response.content else None

    async def open_stream(self, token: str, service: str, method: str, path: str, *, params: dict[str, Any] | None = None) -> httpx.Response:
        """A response whose body is still to be read (`aiter_bytes`; the caller closes it), or ApiError."""
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        request = self.client.build_request(method, self.urls[service] + path, params=clean, headers={"Authorization": f"Bearer {token}"})
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ApiError(service, 0, f"{service} 서비스에 연결할 수 없습니다", str(exc)) from None
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            try:
                problem = response.json()
            except ValueError:
                problem = {}
            problem = problem if isinstance(problem, dict) else {}
            raise ApiError(service, response.status_code, str(problem.get("title") or response.reason_phrase),
                           str(problem.get("detail") or ""), _fields(problem))
        return response

    async def call_until_known(self, token: str, service: str, method: str, path: str, *, json: Any, idempotency_key: str,
                               unknown_field: str, wait_s: float) -> Any:
        """Read-your-writes across services: a command naming something the service has not heard of yet
        (422 on `unknown_field` saying it knows no such thing, or a retryable 503) is retried with the same
        Idempotency-Key until it is accepted or `wait_s` has passed."""
        deadline = time.monotonic() + wait_s
        delay = 0.1
        while True:
            try:
                return await self.call(token, service, method, path, json=json, idempotency_key=idempotency_key)
            except ApiError as error:
                retryable = error.status == 503 or (
                    error.status == 422 and "knows no" in (error.fields.get(unknown_field, "") + error.detail)
                )
                if not retryable or time.monotonic() + delay > deadline:
                    raise
                await asyncio.sleep(error.retry_after if error.retry_after is not None else delay)
                delay = min(delay * 2, 1.0)

    async def get_raw(self, service: str, path: str) -> httpx.Response:
        return await self.client.get(self.urls[service] + path)
