"""A throwaway stack for a benchmark: broker, PostgreSQL and some services on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from pathlib import Path

from sangsaeng_devstack.broker import Broker
from sangsaeng_devstack.issuer import Issuer
from sangsaeng_devstack.ledger_key import ledger_signing_key
from sangsaeng_devstack.postgres import Postgres
from sangsaeng_devstack.processes import ServiceProcess
from sangsaeng_devstack.provision import provision
from sangsaeng_devstack.users import DEV_USERS

# The benchmark's identity provider: the local issuer on a thread of this process; the services
# fetch its keys over HTTP and check each request's JWT as in production.
ISSUER = Issuer(port=0, token_ttl_s=6 * 3600).start()
AUTH_ENV = ISSUER.service_env()
AUDITOR_TOKEN = ISSUER.token_for("A-4001")
HEADERS = {"Authorization": f"Bearer {ISSUER.token_for('S-1001')}"}
PLANNER = {"Authorization": f"Bearer {ISSUER.token_for('P-2001')}"}
LOAN_OFFICER = {"Authorization": f"Bearer {ISSUER.token_for('L-3001')}"}


def planner_headers(planner_id: str) -> dict[str, str]:
    """The Authorization header of the person who is this planner (who records their visits)."""
    (subject,) = [u.subject for u in DEV_USERS if u.planner_id == planner_id]
    return {"Authorization": f"Bearer {ISSUER.token_for(subject)}"}
LOG_DIR = ".devstack/bench-logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def registration_number(i: int) -> str:
    from intake.domain.registration import check_digit

    free = f"{i:07d}"
    first_nine = free[:3] + "01" + free[3:]
    return first_nine + str(check_digit(first_nine))


@dataclass
class BenchStack:
    urls: dict[str, str]
    envs: dict[str, dict[str, str]]
    postgres: Postgres
    bootstrap_servers: str
    spawned: list[ServiceProcess] = field(default_factory=list)

    def spawn(self, service: str, command: str, name: str, **env: str) -> ServiceProcess:
        """Start one more process of a provisioned service (e.g. a `consume` worker); stopped
        with the stack. Its HTTP port is the service's own, so spawn at most one `api`."""
        process = ServiceProcess(service, command, env={**self.envs[service], **env}, log_dir=LOG_DIR, name=name).start()
        self.spawned.append(process)
        return process

    @property
    def admin_url(self) -> str:
        return self.postgres.url("bench")


@contextlib.asynccontextmanager
async def bench_stack(*services: str, provision_only: tuple[str, ...] = (), env: Mapping[str, str] | None = None) -> AsyncIterator[BenchStack]:
    """Start `services` (each `serve`: API, relay and consumers). Services named in
    `provision_only` get a role, a schema and an environment but no process: start their
    parts with `stack.spawn`."""
    with Broker() as broker, Postgres() as postgres, tempfile.TemporaryDirectory(prefix="bench-ledger-key-") as keys:
        databases = await provision(postgres.admin_url, "bench", [*services, *provision_only])
        envs, urls, processes = {}, {}, []
        for service in [*services, *provision_only]:
            port = free_port()
            # audit signs its ledger's checkpoints: a key of this run's own
            ledger_key = {"AUDIT_SIGNING_KEY_FILE": str(ledger_signing_key(Path(keys) / "signing.key")[0])} if service == "audit" else {}
            envs[service] = {"SERVICE_NAME": service, **databases[service].env(), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                             "HTTP_PORT": str(port), **AUTH_ENV, "LOG_LEVEL": "WARNING", **ledger_key, **(env or {})}
            urls[service] = f"http://127.0.0.1:{port}"
        for service in services:
            processes.append(ServiceProcess(service, env=envs[service], log_dir=LOG_DIR, ready_url=f"{urls[service]}/ready").start())
        stack = BenchStack(urls, envs, postgres, broker.bootstrap_servers)
        try:
            await asyncio.gather(*(p.wait_ready(timeout=90) for p in processes))
            yield stack
        finally:
            for p in [*stack.spawned, *processes]:
                p.request_stop()
            for p in [*stack.spawned, *processes]:
                p.terminate()
