"""What the reliability tests share: all five services on the test's stack, the demo's
simulation as the workload (the real HTTP APIs; every command carries an Idempotency-Key,
which is also its correlation id, and a client retries with the same key when an answer
is lost), and the exactly-once checks of the end state.

Accepted means: the client got a 2xx answer for the command's key (maybe after retries).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from sangsaeng_demo.client import Api
from sangsaeng_demo.plan import make_plan
from sangsaeng_demo.simulate import Result, Simulation
from sangsaeng_devstack.processes import ServiceProcess
from tests.support import AUDITOR, STAFF, Stack, demo_tokens, read_topic, url_for

SERVICES = ("intake", "visits", "loans", "referrals", "audit", "districts")
# Commands that by design publish nothing: an owner's name and contacts never leave intake;
# a contest's call is districts' own record (its entries and results are events).
SILENT_COMMANDS = ("/owners", "/contests")
EVENTS_TOPIC = r"^sangsaeng\.[a-z_]+\.events$"


async def start_all(stack: Stack, **extra: str) -> dict[str, ServiceProcess]:
    processes = {name: stack.spawn(name, name=name, **extra) for name in SERVICES}
    await asyncio.gather(*(p.wait_ready(timeout=120) for p in processes.values()))
    return processes


def urls_of(processes: dict[str, ServiceProcess]) -> dict[str, str]:
    return {name: url_for(p, "").rstrip("/") for name, p in processes.items()}


@dataclass
class CommandLog(Api):
    """The demo's API client, remembering every command that was accepted (by key)."""

    accepted: dict[str, str] = field(default_factory=dict)  # key -> "POST service/path" (PATCH, PUT likewise: a command is any of them)

    async def request(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await super().request(service, method, path, **kwargs)
        key = kwargs.get("key")
        if key and method in ("POST", "PATCH", "PUT") and 200 <= response.status_code < 300:
            self.accepted[key] = f"{method} {service}{path}"
        return response


def command_log(processes: dict[str, ServiceProcess], concurrency: int = 12) -> CommandLog:
    return CommandLog(urls_of(processes), demo_tokens(), concurrency=concurrency)


async def play(api: Api, seed: int, shops: int, bank: int, fund: int, wait_timeout: float = 300.0) -> Result:
    """One small half-year of the demo: registrations, consents, support requests, visits
    scheduled and recorded, loan applications, screening, the guarantee saga, decisions,
    disbursements, and the partner agencies' acknowledgements and outcomes."""
    return await Simulation(api, make_plan(seed, shops=shops, bank=bank, fund=fund), None, wait_timeout=wait_timeout).run_all()


# ---------------------------------------------------------------- where every event should be


@dataclass(frozen=True)
class Consumer:
    name: str  # its inbox rows' consumer
    schema: str  # the service it runs in
    types: frozenset[str] | None  # the ce_types it applies; None: every event of every events topic


def consumers() -> list[Consumer]:
    found = []
    for service in SERVICES:
        for handlers in importlib.import_module(f"{service}.bootstrap").build().consumers:
            types = None if handlers.topic_pattern else frozenset(t.ce_type() for t in handlers.by_type)
            found.append(Consumer(handlers.consumer, service, types))
    return found


def _events_union(upto: dict[str, int] | None) -> str:
    """Every event on an events topic (agency copies excluded), from every outbox."""
    parts = []
    for service in SERVICES:
        limit = f" and seq <= {int(upto[service])}" if upto else ""
        parts.append(f"select event_id, event_type from {service}.outbox where topic ~ '{EVENTS_TOPIC}'{limit}")
    return " union all ".join(parts)


async def outbox_heads(conn: asyncpg.Connection) -> dict[str, int]:
    """The last sequence number of every outbox: what is committed now."""
    return {s: await conn.fetchval(f"select coalesce(max(seq), 0) from {s}.outbox") for s in SERVICES}


async def backlog(conn: asyncpg.Connection, upto: dict[str, int] | None = None) -> dict[str, int]:
    """What is not done yet of the events committed up to `upto` (default: all): unpublished
    outbox rows, and events missing from a consumer's inbox or from the ledger. Empty once
    everything is caught up."""
    left: dict[str, int] = {}
    for service in SERVICES:
        limit = f" and seq <= {int(upto[service])}" if upto else ""
        n = await conn.fetchval(f"select count(*) from {service}.outbox where published_at is null{limit}")
        if n:
            left[f"{service} outbox unpublished"] = n
    events = _events_union(upto)
    for consumer in consumers():
        n = await conn.fetchval(
            f"""select count(*) from ({events}) e
                where ($2::text[] is null or e.event_type = any($2::text[]))
                  and not exists (select 1 from {consumer.schema}.inbox i where i.consumer = $1 and i.event_id = e.event_id)""",
            consumer.name, sorted(consumer.types) if consumer.types is not None else None,
        )
        if n:
            left[f"{consumer.name} inbox missing"] = n
    n = await conn.fetchval(f"select count(*) from ({events}) e where not exists (select 1 from audit.ledger l where l.event_id = e.event_id)")
    if n:
        left["ledger missing"] = n
    return left


async def caught_up(stack: Stack, upto: dict[str, int] | None = None, timeout: float = 240.0) -> float:
    """Wait until `backlog` is empty; return the seconds it took."""
    started = time.monotonic()
    conn = await stack.db()
    try:
        last: dict[str, int] = {}
        while time.monotonic() - started < timeout:
            last = await backlog(conn, upto)
            if not last:
                return time.monotonic() - started
            await asyncio.sleep(0.2)
        raise AssertionError(f"not caught up after {timeout}s: {last}")
    finally:
        await conn.close()


# ---------------------------------------------------------------- exactly once


@dataclass
class Findings:
    commands_accepted: int
    events_in_outboxes: int
    events_in_ledger: int
    lost_events: list[str]  # in an outbox, not in the ledger
    foreign_events: list[str]  # in the ledger, in no outbox
    lost_commands: list[str]  # accepted, no event of theirs in the ledger
    duplicated_commands: list[str]  # one command, the same event (type, subject) twice
    unaccounted_events: list[str]  # caused by no accepted command and no event
    duplicated_effects: list[str]  # one cause, the same follow-up twice
    by_type: Counter[str] = field(default_factory=Counter)

    @property
    def lost(self) -> int:
        return len(self.lost_events) + len(self.lost_commands)

    @property
    def duplicated(self) -> int:
        return len(self.duplicated_commands) + len(self.duplicated_effects)

    def clean(self) -> bool:
        return not (self.lost_events or self.foreign_events or self.lost_commands or self.duplicated_commands
                    or self.unaccounted_events or self.duplicated_effects)


async def exactly_once(stack: Stack, accepted: dict[str, str]) -> Findings:
    """Every accepted command's events in the ledger exactly once; nothing in the ledger
    that neither an accepted command nor another event caused; every consumer's follow-up
    of an event once. (The inboxes' completeness is `backlog`'s.)"""
    conn = await stack.db()
    try:
        outboxes = {r["event_id"] for r in await conn.fetch(_events_union(None))}
        ledger = await conn.fetch(
            """select event_id, event_type, subject, headers->>'ce_correlationid' as correlation,
                      headers->>'ce_causationid' as causation, data->>'agency' as agency, data->>'program' as program,
                      data->>'application_id' as application, data->>'instalment' as instalment
               from audit.ledger"""
        )
    finally:
        await conn.close()
    in_ledger = {r["event_id"] for r in ledger}
    ids = {str(r["event_id"]) for r in ledger}
    # An event is the same event again only if it is about the same thing: one repayment may announce
    # two missed instalments, one change of details screen two applications again.
    by_command: dict[str, Counter[tuple[str, str, str | None, str | None]]] = {}
    by_cause: Counter[tuple[str, str, str | None, str | None, str | None, str | None]] = Counter()
    unaccounted = []
    for r in ledger:
        if r["causation"]:
            by_cause[(r["causation"], r["event_type"], r["agency"], r["program"], r["application"], r["instalment"])] += 1
            if r["causation"] not in ids:
                unaccounted.append(f"{r['event_type']} {r['event_id']}: its cause {r['causation']} is not in the ledger")
        elif r["correlation"] in accepted:
            by_command.setdefault(r["correlation"], Counter())[(r["event_type"], r["subject"], r["application"], r["instalment"])] += 1
        elif not r["event_type"].endswith((".GuaranteeTimedOut.v1", ".LoanInArrears.v1")):  # the loans sweepers' own
            unaccounted.append(f"{r['event_type']} {r['event_id']} (correlation {r['correlation']})")
    return Findings(
        commands_accepted=len(accepted),
        events_in_outboxes=len(outboxes),
        events_in_ledger=len(ledger),
        lost_events=[str(e) for e in outboxes - in_ledger],
        foreign_events=[str(e) for e in in_ledger - outboxes],
        lost_commands=[f"{key} ({what})" for key, what in accepted.items() if key not in by_command and not what.endswith(SILENT_COMMANDS)],
        duplicated_commands=[f"{key}: {event} x{n}" for key, events in by_command.items() for event, n in events.items() if n > 1],
        unaccounted_events=unaccounted,
        duplicated_effects=[f"{cause}: x{n}" for cause, n in by_cause.items() if n > 1],
        by_type=Counter(r["event_type"].split(".")[2] for r in ledger),
    )


async def replays_equal(stack: Stack) -> dict[str, bool]:
    """`python -m <service> replay` of every service with read models: rebuilt from the log
    into a scratch schema and compared table by table with the live read models."""
    async def one(service: str) -> tuple[str, bool, str]:
        env = {**stack.env(service), "LOG_LEVEL": "WARNING"}
        import os

        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", service, "replay", env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 300)
        return service, proc.returncode == 0, (out + err).decode(errors="replace")[-3000:]

    # One at a time, as an auditor runs them (replays running at once would contend for the
    # outbox's key locks, one lock space for every schema of the database).
    results = [await one(s) for s in SERVICES if importlib.import_module(f"{s}.bootstrap").build().read_models]
    for service, equal, output in results:
        if not equal:
            print(f"replay of {service} differs:\n{output}")
    return {service: equal for service, equal, _ in results}


async def dead_letters(stack: Stack) -> dict[str, int]:
    return {c.name: len(await read_topic(stack.bootstrap_servers, f"sangsaeng.{c.name}.dlq", settle_s=0.5)) for c in consumers()}


async def verify_ok(processes: dict[str, ServiceProcess]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=120) as client:
        response = await client.get(url_for(processes["audit"], "/verify"), headers=AUDITOR)
    assert response.status_code == 200, response.text
    return response.json()


def figures(name: str, values: dict[str, Any]) -> None:
    """Print one line of figures (shown with -s; RELIABILITY.md quotes them)."""
    print(f"\nRELIABILITY {name}: " + json.dumps(values, ensure_ascii=False, default=str))


# ---------------------------------------------------------------- commands seen one answer at a time


class Commands:
    """Commands posted straight to the APIs, one attempt at a time, so that every answer
    is seen as it is (the demo's client retries 503s out of sight). Keys work as the
    demo's: the Idempotency-Key is also the correlation id; retry a key until accepted."""

    def __init__(self, processes: dict[str, ServiceProcess], accepted: dict[str, str]):
        self.processes = processes
        self.accepted = accepted
        self.answers: Counter[int] = Counter()  # status -> count; 0: no answer (connection failed)
        self.without_retry_after = 0  # 503s that did not say when to come back
        self.client = httpx.AsyncClient(timeout=15)

    async def post(self, service: str, path: str, body: dict[str, Any], key: str) -> httpx.Response | None:
        headers = {**STAFF, "Idempotency-Key": key, "X-Correlation-ID": key}
        try:
            response = await self.client.post(url_for(self.processes[service], path), json=body, headers=headers)
        except httpx.TransportError:
            self.answers[0] += 1
            return None
        self.answers[response.status_code] += 1
        if response.status_code == 503 and not response.headers.get("Retry-After"):
            self.without_retry_after += 1
        if 200 <= response.status_code < 300:
            self.accepted[key] = f"POST {service}{path}"
        return response

    async def until_accepted(self, service: str, path: str, body: dict[str, Any], key: str, timeout: float = 180.0) -> dict[str, Any]:
        """Retry with the same key (after Retry-After) until a 2xx: what an honest client does."""
        deadline = time.monotonic() + timeout
        while True:
            response = await self.post(service, path, body, key)
            if response is not None and 200 <= response.status_code < 300:
                return response.json()
            not_yet = response is not None and response.status_code == 422 and "has not arrived yet" in response.text
            if response is not None and response.status_code != 503 and not not_yet:
                raise AssertionError(f"POST {service}{path}: HTTP {response.status_code}: {response.text[:500]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"POST {service}{path} not accepted after {timeout}s; last: {response and response.text[:300]}")
            delay = float(response.headers.get("Retry-After", "1")) if response is not None and response.status_code == 503 else 0.5
            await asyncio.sleep(min(delay, 2))

    async def aclose(self) -> None:
        await self.client.aclose()
