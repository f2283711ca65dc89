"""Outages: the broker paused (SIGSTOP), the database's connections cut, the database
server stopped and started again, each while commands keep coming through the APIs.
The APIs keep accepting commands without the broker, answer 503 with Retry-After (never
500) without the database, and everything resumes by itself with nothing lost."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from pathlib import Path

import httpx
import pytest

from sangsaeng_devstack.broker import Broker
from sangsaeng_devstack.postgres import Postgres
from sangsaeng_devstack.provision import provision
from tests.chaos.scale import size
from tests.chaos.system import SERVICES, Commands, caught_up, dead_letters, exactly_once, figures, start_all
from tests.integration.loans_helpers import application_body
from tests.support import Stack, admin_url_for, business_body, new_database_name, url_for

# The full size runs longer than a test's usual 300 s on a loaded machine.
pytestmark = pytest.mark.timeout(size(600, 1200))


async def _businesses_known_everywhere(commands: Commands, stack: Stack, count: int, tag: str) -> list[str]:
    ids = [(await commands.until_accepted("intake", "/businesses", business_body(), f"{tag}-known-{i}"))["id"] for i in range(count)]
    await caught_up(stack)
    return ids


async def _traffic(commands: Commands, known: list[str], stop: asyncio.Event, tag: str) -> list[tuple[str, str, dict, str]]:
    """One command at a time until `stop`: registrations, support requests and loan
    applications (one per known business). Returns those not accepted, to retry by key."""
    rng = random.Random(tag)
    for_loans = list(known)
    pending = []
    for i in itertools.count():
        if stop.is_set():
            return pending
        kind = i % 3
        if kind == 2 and for_loans:
            command = ("loans", "/applications", application_body(for_loans.pop()), f"{tag}-loan-{i}")
        elif kind == 1:
            command = ("intake", "/support-requests", {"business_id": rng.choice(known), "needs": ["consulting", "loan"], "channel": "phone"},
                       f"{tag}-request-{i}")
        else:
            command = ("intake", "/businesses", business_body(), f"{tag}-business-{i}")
        response = await commands.post(*command)
        if response is None or not 200 <= response.status_code < 300:
            pending.append(command)
        await asyncio.sleep(0.1)
    return pending


async def _all_accepted(commands: Commands, pending) -> None:
    for command in pending:
        await commands.until_accepted(*command)


async def _nothing_lost(stack: Stack, accepted: dict[str, str]):
    await caught_up(stack)
    found = await exactly_once(stack, accepted)
    assert found.clean(), found
    dlq = await dead_letters(stack)
    assert sum(dlq.values()) == 0, dlq
    return found, dlq


async def test_the_apis_accept_commands_while_the_broker_is_paused_and_nothing_is_lost(stack, controllable_broker):
    processes = await start_all(stack)
    accepted: dict[str, str] = {}
    commands = Commands(processes, accepted)
    try:
        known = await _businesses_known_everywhere(commands, stack, size(5, 15), "pause")
        before = dict(commands.answers)
        stop = asyncio.Event()
        paused_s = size(6, 30)
        controllable_broker.pause()
        try:
            traffic = asyncio.create_task(_traffic(commands, known, stop, "pause"))
            await asyncio.sleep(paused_s)
            stop.set()
            pending = await traffic
        finally:
            controllable_broker.resume()
        during = {s: n - before.get(s, 0) for s, n in commands.answers.items() if n - before.get(s, 0)}
        assert pending == [] and set(during) <= {200, 201}, during  # every command accepted without the broker
        resumed = time.monotonic()
        found, dlq = await _nothing_lost(stack, accepted)
        figures("broker paused", {"paused_s": paused_s, "accepted_during_pause": sum(during.values()),
                                  "caught_up_after_resume_s": round(time.monotonic() - resumed, 2),
                                  "commands_accepted": found.commands_accepted, "lost": found.lost, "duplicated": found.duplicated,
                                  "dead_letters": sum(dlq.values())})
    finally:
        await commands.aclose()


async def test_cut_database_connections_answer_503_never_500_and_everything_resumes(stack):
    processes = await start_all(stack)
    accepted: dict[str, str] = {}
    commands = Commands(processes, accepted)
    try:
        known = await _businesses_known_everywhere(commands, stack, size(5, 15), "cut")
        stop = asyncio.Event()
        traffic = asyncio.create_task(_traffic(commands, known, stop, "cut"))
        admin = await stack.db()
        cuts = terminated = 0
        try:
            until = time.monotonic() + size(5, 30)
            while time.monotonic() < until:
                # Every session of this test's database but ours: APIs, relays, consumers alike.
                terminated += await admin.fetchval(
                    """select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity
                       where datname = current_database() and pid <> pg_backend_pid()"""
                )
                cuts += 1
                await asyncio.sleep(random.uniform(0.3, 1.5))
        finally:
            stop.set()
            await admin.close()
        pending = await traffic
        during = dict(commands.answers)
        assert set(during) <= {200, 201, 503}, during  # never a 500, never a dropped connection
        assert commands.without_retry_after == 0
        resumed = time.monotonic()
        await _all_accepted(commands, pending)
        found, dlq = await _nothing_lost(stack, accepted)
        figures("database connections cut", {"cuts": cuts, "sessions_terminated": terminated, "answers": during,
                                             "resumed_s": round(time.monotonic() - resumed, 2),
                                             "commands_accepted": found.commands_accepted, "lost": found.lost,
                                             "duplicated": found.duplicated, "dead_letters": sum(dlq.values())})
    finally:
        await commands.aclose()


async def test_a_stopped_database_server_answers_503_never_500_and_everything_resumes_when_it_is_back(request):
    # A server of this test's own: stopping the session's would stop every other test's.
    log_dir = Path(os.environ.get("SANGSAENG_TEST_LOGS", ".devstack/test-logs")) / request.node.name
    postgres = Postgres(log_path=log_dir / "postgres.log").start()
    broker = Broker().start()
    database = new_database_name()
    stack = Stack(bootstrap_servers=broker.bootstrap_servers, admin_url=admin_url_for(postgres.admin_url, database),
                  databases=await provision(postgres.admin_url, database, list(SERVICES)), log_dir=log_dir, broker=broker)
    commands = None
    try:
        processes = await start_all(stack)
        accepted: dict[str, str] = {}
        commands = Commands(processes, accepted)
        known = await _businesses_known_everywhere(commands, stack, size(4, 10), "down")
        before = dict(commands.answers)
        down_s = size(4, 20)
        postgres.stop_server()
        stopped = time.monotonic()
        stop = asyncio.Event()
        traffic = asyncio.create_task(_traffic(commands, known, stop, "down"))
        ready_answers = set()
        async with httpx.AsyncClient(timeout=10) as client:
            while time.monotonic() - stopped < down_s:
                for process in processes.values():
                    ready_answers.add((await client.get(url_for(process, "/ready"))).status_code)
                await asyncio.sleep(1)
        stop.set()
        pending = await traffic
        during = {s: n - before.get(s, 0) for s, n in commands.answers.items() if n - before.get(s, 0)}
        postgres.start_server()
        restarted = time.monotonic()
        assert set(during) == {503}, during  # every command refused cleanly while the server is away
        assert commands.without_retry_after == 0
        assert ready_answers == {503}
        await _all_accepted(commands, pending)
        accepted_again = time.monotonic() - restarted
        found, dlq = await _nothing_lost(stack, accepted)
        figures("database server stopped", {"down_s": down_s, "answers_while_down": during, "refused_then_accepted": len(pending),
                                             "all_accepted_after_restart_s": round(accepted_again, 2),
                                             "caught_up_after_restart_s": round(time.monotonic() - restarted, 2),
                                             "commands_accepted": found.commands_accepted, "lost": found.lost,
                                             "duplicated": found.duplicated, "dead_letters": sum(dlq.values())})
    finally:
        if commands is not None:
            await commands.aclose()
        stack.stop()
        broker.stop()
        postgres.stop()
