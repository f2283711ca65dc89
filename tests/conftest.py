"""Fixtures for tests against the real broker and database.

Each test gets its own broker (the development broker starts in milliseconds and keeps
nothing) and its own database on one PostgreSQL server per session, so tests cannot see
each other's events or rows. KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL point them at
existing servers instead; tests that must pause or replace the broker are then skipped.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sangsaeng_devstack.broker import Broker, ExternalBroker
from sangsaeng_devstack.postgres import postgres_from_env_or_start
from sangsaeng_devstack.provision import drop_database, provision
from tests.support import Stack, admin_url_for, new_database_name

SERVICES = ["intake", "visits", "referrals", "loans", "audit", "districts"]
LOG_ROOT = Path(os.environ.get("SANGSAENG_TEST_LOGS", ".devstack/test-logs"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    server = postgres_from_env_or_start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def stack(postgres_server, request) -> AsyncIterator[Stack]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = ExternalBroker(external).start() if external else Broker().start()
    database = new_database_name()
    databases = await provision(postgres_server.admin_url, database, SERVICES)
    log_dir = LOG_ROOT / request.node.name
    stack = Stack(
        bootstrap_servers=broker.bootstrap_servers,
        admin_url=admin_url_for(postgres_server.admin_url, database),
        databases=databases,
        log_dir=log_dir,
        broker=broker,
    )
    try:
        yield stack
    finally:
        stack.stop()
        broker.stop()
        await drop_database(postgres_server.admin_url, database)


@pytest.fixture
def controllable_broker(stack: Stack) -> Broker:
    if not getattr(stack.broker, "controllable", False):
        pytest.skip("the broker is an external server: it cannot be paused or replaced from here")
    return stack.broker
