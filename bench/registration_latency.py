"""How long a registration takes to reach visits: POST /businesses answered 201 → the
business readable at visits' GET /businesses/{id} (through outbox, relay, Kafka, inbox).

    .venv/bin/python bench/registration_latency.py [--count 200]

Starts its own broker, PostgreSQL, intake and visits on free ports; prints p50/p95/p99/max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import time

import httpx

from sangsaeng_devstack.broker import Broker
from sangsaeng_devstack.postgres import Postgres
from sangsaeng_devstack.processes import ServiceProcess
from sangsaeng_devstack.provision import provision

TOKEN = "bench-staff"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _number(i: int) -> str:
    from intake.domain.registration import check_digit

    free = f"{i:07d}"
    first_nine = free[:3] + "01" + free[3:]
    return first_nine + str(check_digit(first_nine))


async def main(count: int) -> None:
    with Broker() as broker, Postgres() as postgres:
        dsns = await provision(postgres.admin_url, "bench", ["intake", "visits"])
        ports = {"intake": _free_port(), "visits": _free_port()}
        processes = []
        for service, port in ports.items():
            env = {"SERVICE_NAME": service, "DATABASE_URL": dsns[service], "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                   "HTTP_PORT": str(port), "AUTH_TOKENS": json.dumps({TOKEN: "staff"}), "LOG_LEVEL": "WARNING"}
            processes.append(ServiceProcess(service, env=env, log_dir=".devstack/bench-logs",
                                            ready_url=f"http://127.0.0.1:{port}/ready").start())
        try:
            started = time.perf_counter()
            await asyncio.gather(*(p.wait_ready(timeout=60) for p in processes))
            print(f"intake and visits ready in {time.perf_counter() - started:.2f} s")
            headers = {"Authorization": f"Bearer {TOKEN}"}
            latencies = []
            async with httpx.AsyncClient(timeout=30, headers=headers) as client:
                # Warm-up: the first one waits for visits' consumer to join its group.
                for i in range(count + 1):
                    body = {"registration_number": _number(i), "name": f"가게 {i}", "dong": "제기동", "industry": "음식점업", "employees": 2}
                    response = await client.post(f"http://127.0.0.1:{ports['intake']}/businesses", json=body)
                    answered = time.perf_counter()
                    business = response.json()["id"]
                    while (await client.get(f"http://127.0.0.1:{ports['visits']}/businesses/{business}")).status_code != 200:
                        await asyncio.sleep(0.001)
                    if i:
                        latencies.append((time.perf_counter() - answered) * 1000)
            q = statistics.quantiles(latencies, n=100)
            print(f"registration → visits over {count} sequential registrations: "
                  f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {max(latencies):.1f} ms")
        finally:
            for p in processes:
                p.terminate()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    asyncio.run(main(parser.parse_args().count))
