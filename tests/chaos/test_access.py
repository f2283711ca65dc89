"""Access: who may call what, who may touch which schema, and where personal data may go.

The endpoint list comes from each running service's own OpenAPI, so a new endpoint is
covered the day it is added; its admitted roles are the `x-roles` its `require(...)`
documents. Elsewhere: an agency seeing or answering another agency's referrals is
test_referrals_agency_api; the ledger refusing UPDATE/DELETE/TRUNCATE to the audit role
is test_audit.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from sangsaeng_common.pii import contains_resident_number
from sangsaeng_demo.cli import simulate
from sangsaeng_demo.plan import make_plan
from tests.chaos.everything import start_everything
from tests.conftest import SERVICES
from tests.support import SUBJECT_OF_ROLE, demo_tokens, headers_for, read_topic, refused_tokens, url_for

# Open by design, and named here one by one: anything else without x-roles is a hole.
OPEN_PATHS = {"/health", "/ready", "/metrics"}
PATH_PARAMETER = re.compile(r"\{([^}]+)\}")
# Event ids, trace ids: hex that can hold 13 digits in a row by chance (not a resident number).
HEX_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}")


def _concrete(path: str) -> str:
    """A path with every parameter filled (the refusal comes before any lookup)."""
    return PATH_PARAMETER.sub(lambda m: str(uuid.uuid4()) if m.group(1).endswith("_id") else "1", path)


def _is_problem(response: httpx.Response, status: int) -> bool:
    return response.status_code == status and response.headers["content-type"].startswith("application/problem+json")


async def test_every_endpoint_refuses_a_missing_token_an_invalid_one_and_a_wrong_role(stack):
    processes = await start_everything(stack)
    invalid = refused_tokens()
    checks: Counter = Counter()
    holes: list[str] = []
    async with httpx.AsyncClient(timeout=60) as client:
        for service in SERVICES:
            base = url_for(processes[service], "")
            document = (await client.get(f"{base}/openapi.json")).json()
            for path, item in document["paths"].items():
                for method, operation in item.items():
                    name = f"{service} {method.upper()} {path}"
                    roles = operation.get("x-roles")
                    if roles is None:
                        if path not in OPEN_PATHS:
                            holes.append(f"{name}: no role required")
                        continue
                    checks["endpoints"] += 1
                    url = f"{base}{_concrete(path)}"

                    async def call(headers: dict[str, str], url=url, method=method) -> httpx.Response:
                        return await client.request(method, url, headers=headers, json={} if method in ("post", "put") else None)

                    missing = await call({})
                    if not (_is_problem(missing, 401) and missing.headers.get("www-authenticate") == "Bearer"):
                        holes.append(f"{name}: no token -> {missing.status_code}")
                    checks["no token: 401"] += 1
                    for why, token in invalid.items():
                        answer = await call({"Authorization": f"Bearer {token}"})
                        if not (_is_problem(answer, 401) and answer.headers.get("www-authenticate", "").startswith('Bearer error="invalid_token"')):
                            holes.append(f"{name}: {why} token -> {answer.status_code}")
                        checks[f"{why} token: 401"] += 1
                    for role, subject in SUBJECT_OF_ROLE.items():
                        if path == "/admin/replay" and role in roles:
                            continue  # admitted; a replay is exercised in test_replay
                        answer = await call(headers_for(subject))
                        if role in roles:
                            checks["admitted role: not 401/403"] += 1
                            if answer.status_code in (401, 403):
                                holes.append(f"{name}: {role} is admitted but got {answer.status_code}")
                        else:
                            checks["wrong role: 403"] += 1
                            if not _is_problem(answer, 403):
                                holes.append(f"{name}: {role} may not, but got {answer.status_code}")
    print(f"\naccess: {checks['endpoints']} endpoints, {sum(checks.values()) - checks['endpoints']} checks: {dict(checks)}")
    assert not holes, "\n".join(holes)
    assert checks["endpoints"] >= 40 and checks["wrong role: 403"] >= 100


async def test_each_service_role_is_refused_every_other_schema(stack):
    await start_everything(stack)  # every schema migrated
    admin = await stack.db()
    refused = 0
    try:
        for own in SERVICES:
            conn = await asyncpg.connect(stack.dsns[own])
            try:
                assert await conn.fetchval(f"select count(*) from {own}.inbox") >= 0  # its own: yes
                for other in (s for s in SERVICES if s != own):
                    tables = [r["table_name"] for r in await admin.fetch(
                        "select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'", other)]
                    assert tables, f"{other} has no tables"
                    for table in tables:
                        with pytest.raises(asyncpg.InsufficientPrivilegeError):
                            await conn.fetchval(f"select count(*) from {other}.{table}")
                        refused += 1
                    for statement in (f"delete from {other}.inbox", f"create table {other}.intruder (id int)",
                                      f"create function {other}.intruder() returns int language sql as 'select 1'"):
                        with pytest.raises(asyncpg.InsufficientPrivilegeError):
                            await conn.execute(statement)
                        refused += 1
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute("create table public.intruder (id int)")
                refused += 1
            finally:
                await conn.close()
    finally:
        await admin.close()
    print(f"\ndatabase roles: {refused} statements on other schemas refused")


@pytest.mark.timeout(900)
async def test_no_personal_data_the_demo_entered_reaches_any_topic(stack):
    processes = await start_everything(stack)
    plan = make_plan(11, shops=60, bank=5, fund=6)
    urls = {name: url_for(p, "").rstrip("/") for name, p in processes.items()}
    result = await simulate(urls, plan, concurrency=16, wait_timeout=120, tokens=demo_tokens(), show_progress=False)  # every person and agency
    assert result.problems == [] and result.verify["ok"] is True

    conn = await stack.db()
    try:
        owners = await conn.fetch("select name, phone from intake.owners")
        signed = [r["signed_by"] for r in await conn.fetch("select signed_by from intake.consents where signed_by is not null")]
        events = await conn.fetchval("select count(*) from audit.ledger")
        representatives = await conn.fetch("select name, phone from districts.representatives")
    finally:
        await conn.close()
    assert len(owners) == len(plan.shops)  # the demo entered them, and intake kept them
    personal = {o["name"] for o in owners} | set(signed)
    personal |= {o["phone"] for o in owners} | {re.sub(r"\D", "", o["phone"]) for o in owners}
    # The districts' merchants' associations' representatives: kept only in districts.
    assert len(representatives) == len(plan.districts) > 0
    personal |= {r["name"] for r in representatives} | {r["phone"] for r in representatives}

    lister = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap_servers)
    await lister.start()
    try:
        topics = sorted(await lister.topics())
    finally:
        await lister.stop()
    scanned, leaks = 0, []
    for topic in topics:
        for record in await read_topic(stack.bootstrap_servers, topic):
            scanned += 1
            texts = [record.key or b"", record.value or b"", *(f"{k}={v.decode('utf-8', 'replace')}".encode() for k, v in record.headers)]
            text = "\n".join(t.decode("utf-8", "replace") for t in texts)
            found = [p for p in personal if p in text]
            if found or contains_resident_number(HEX_IDS.sub(" ", text)):
                leaks.append(f"{topic}@{record.partition}:{record.offset}: {found or 'a resident registration number'}")
    print(f"\npersonal data: {len(owners)} owners, {len(personal)} values, {scanned} records in {len(topics)} topics scanned")
    assert scanned >= events > len(plan.shops) and any(t.startswith("sangsaeng.agency.") for t in topics)
    assert not leaks, "\n".join(leaks[:20])
