"""A throwaway stack for a benchmark: broker, PostgreSQL and some services on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sangsaeng_devstack.broker import Broker
from sangsaeng_devstack.postgres import Postgres
from sangsaeng_devstack.processes import ServiceProcess
from sangsaeng_devstack.provision import provision

TOKEN = "bench-staff"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


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


@contextlib.asynccontextmanager
async def bench_stack(*services: str) -> AsyncIterator[BenchStack]:
    with Broker() as broker, Postgres() as postgres:
        databases = await provision(postgres.admin_url, "bench", list(services))
        envs, urls, processes = {}, {}, []
        for service in services:
            port = free_port()
            envs[service] = {"SERVICE_NAME": service, **databases[service].env(), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                             "HTTP_PORT": str(port), "AUTH_TOKENS": json.dumps({TOKEN: "staff", "bench-auditor": "auditor"}),
                             "LOG_LEVEL": "WARNING"}
            urls[service] = f"http://127.0.0.1:{port}"
            processes.append(ServiceProcess(service, env=envs[service], log_dir=".devstack/bench-logs",
                                            ready_url=f"{urls[service]}/ready").start())
        try:
            await asyncio.gather(*(p.wait_ready(timeout=60) for p in processes))
            yield BenchStack(urls, envs, postgres)
        finally:
            for p in processes:
                p.terminate()
