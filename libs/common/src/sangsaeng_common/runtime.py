"""What a service is (`ServiceDefinition`, built by its composition root) and what its
handlers and routes use at run time (`Runtime`: settings, pool, commands, readiness)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaClient
from fastapi import APIRouter, Request

from sangsaeng_common.contracts import Event
from sangsaeng_common.handlers import Handlers
from sangsaeng_common.http import Principal
from sangsaeng_common.idempotency import idempotency_scope, idempotent
from sangsaeng_common.read_models import ReadModel
from sangsaeng_common.request_context import actor_var, correlation_id_var, traceparent_var
from sangsaeng_common.settings import ServiceSettings
from sangsaeng_common.unit_of_work import UnitOfWork


@dataclass
class ServiceDefinition:
    name: str
    title: str
    description: str
    routes: Callable[[Runtime], Iterable[APIRouter]]
    consumers: list[Handlers] = field(default_factory=list)
    produces: list[type[Event]] = field(default_factory=list)
    # Tables built by the consumers, which a replay rebuilds and compares.
    read_models: list[ReadModel] = field(default_factory=list)
    # Periodic jobs run next to the consumers (the `consume` role), e.g. a timeout sweep:
    # each is called as `task(runtime, stop)` and returns once `stop` is set. Every
    # replica runs them, so a task must be safe to run concurrently (FOR UPDATE SKIP LOCKED).
    tasks: list[Callable[[Runtime, asyncio.Event], Awaitable[None]]] = field(default_factory=list)
    # Topics the service writes besides its own events topic (e.g. per-agency topics),
    # created at start-up like the others.
    extra_topics: list[str] = field(default_factory=list)
    # Process-wide resources the composition root owns besides the pool (e.g. a side pool):
    # each is called as `resource(settings)` and entered (`open_resources`) for the life of
    # the process, or of a replay run on its own; left when that ends.
    resources: list[Callable[[ServiceSettings], AbstractAsyncContextManager[object]]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def open_resources(definition: ServiceDefinition, settings: ServiceSettings) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for resource in definition.resources:
            await stack.enter_async_context(resource(settings))
        yield


class Runtime:
    """What handlers and routes need at run time, built once per process."""

    def __init__(self, settings: ServiceSettings, pool: asyncpg.Pool):
        self.settings = settings
        self.pool = pool
        self._kafka: AIOKafkaClient | None = None
        # The consumers this process runs (none in an `api`-only process): set by process.run.
        # Each has `ready`, true once its group has given it its partitions.
        self.consumers: list[Any] = []

    def uow(self, *, one_statement: bool = False) -> UnitOfWork:
        """A unit of work whose events carry the current request's correlation id, trace
        parent and actor (none outside a request, e.g. in a task)."""
        return UnitOfWork(self.pool, correlation_id=correlation_id_var.get(), traceparent=traceparent_var.get(), actor=actor_var.get(),
                          one_statement=one_statement)

    async def command(
        self,
        run: Callable[[UnitOfWork], Awaitable[tuple[int, Any]]],
        *,
        request: Request,
        principal: Principal,
        idempotency_key: str | None,
        request_body: Any,
        one_statement: bool = False,
    ) -> tuple[int, Any]:
        """Run one command in one unit of work, once per Idempotency-Key.

        A key belongs to the caller: the route (e.g. "POST /things/{thing_id}/close", taken
        from `request`) and the principal together name where it is remembered, so two
        callers can never replay each other's answers.

        `one_statement`: `run` writes once, with `uow.emit_with`; without an Idempotency-Key
        that statement is the whole command (no BEGIN, no COMMIT: see UnitOfWork). With a key,
        the stored answer must commit with the effects, so it runs in a transaction as usual."""
        async with self.uow(one_statement=one_statement and idempotency_key is None) as uow:
            status, payload, _ = await idempotent(
                uow.conn, scope=f"{idempotency_scope(request)}:{principal.name}", key=idempotency_key, request_body=request_body,
                command=lambda: run(uow),
            )
            await uow.commit()
        return status, payload

    async def database_ready(self) -> bool:
        try:
            async with asyncio.timeout(2):
                return await self.pool.fetchval("select 1") == 1
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    def consumers_ready(self) -> bool:
        """Every consumer of this process has its partitions assigned: an event published now
        is delivered without waiting for a group join (about 3 s on a fresh broker)."""
        return all(consumer.ready for consumer in self.consumers)

    async def broker_ready(self) -> bool:
        try:
            async with asyncio.timeout(2):
                if self._kafka is None:
                    self._kafka = AIOKafkaClient(**self.settings.kafka.client_kwargs(), client_id=f"{self.settings.service_name}-ready")
                    await self._kafka.bootstrap()
                return bool(await self._kafka.fetch_all_metadata())
        except Exception:  # noqa: BLE001
            return False

    async def close(self) -> None:
        if self._kafka is not None:
            with contextlib.suppress(Exception):
                await self._kafka.close()
        await self.pool.close()
