"""How long a registration takes to reach visits: POST /businesses answered 201 → the
business readable at visits' GET /businesses/{id} (through outbox, relay, Kafka, inbox).

    .venv/bin/python bench/registration_latency.py [--count 200]

Starts its own broker, PostgreSQL, intake and visits on free ports; prints the cold start (the
first registration, sent the moment both answer /ready, as a new user of `make run` would) and
p50/p95/p99/max of the warm ones after it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from _stack import HEADERS, bench_stack, registration_number


async def main(count: int) -> None:
    started = time.perf_counter()
    async with bench_stack("intake", "visits") as stack:
        print(f"broker, PostgreSQL, intake and visits ready in {time.perf_counter() - started:.2f} s")
        latencies = []
        async with httpx.AsyncClient(timeout=30, headers=HEADERS) as client:
            # The first one is the cold start: /ready has waited for visits' consumer to have its partitions.
            for i in range(count + 1):
                body = {"registration_number": registration_number(i), "name": f"가게 {i}", "dong": "제기동", "industry": "음식점업", "employees": 2}
                response = await client.post(f"{stack.urls['intake']}/businesses", json=body)
                answered = time.perf_counter()
                business = response.json()["id"]
                while (await client.get(f"{stack.urls['visits']}/businesses/{business}")).status_code != 200:
                    await asyncio.sleep(0.001)
                if i:
                    latencies.append((time.perf_counter() - answered) * 1000)
                else:
                    cold = (time.perf_counter() - answered) * 1000
        print(f"cold start: the first registration after /ready reached visits in {cold:.1f} ms")
        q = statistics.quantiles(latencies, n=100, method="inclusive")  # never beyond the largest
        print(f"registration → visits over {count} sequential registrations: "
              f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {max(latencies):.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    asyncio.run(main(parser.parse_args().count))
