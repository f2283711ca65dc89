"""The console's pages under `make demo`'s data: each page's server time (p50/p99) and size, and each asset's.

    .venv/bin/python bench/console_pages.py [--shops 4500 --bank 118 --fund 130] [--requests 300]

Starts broker, PostgreSQL, every service and the console on free ports (sangsaeng_devstack.DevStack), plays the
demo's half-year through the real APIs (a smaller one by default: the machine is shared), then signs in as each
role and asks for each page `--requests` times, one at a time (so the time is the page's own, not a queue's)."""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from pathlib import Path

import httpx

from sangsaeng_demo.cli import simulate
from sangsaeng_demo.plan import make_plan
from sangsaeng_devstack._util import free_port
from sangsaeng_devstack.stack import SERVICES, DevStack
from sangsaeng_devstack.tokens import DEV_TOKENS

TOKENS = {role: token for token, role in DEV_TOKENS.items()}
ASSETS = ["/static/console.css", "/static/console.js", "/static/favicon.svg"]


async def signed_in(base: str, user: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=60)
    form = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    answer = await client.post("/login", data={"username": user, "password": f"{user}-dev-password", "csrf": csrf})
    assert answer.status_code == 303, answer.text
    return client


async def measure(client: httpx.AsyncClient, path: str, n: int) -> dict:
    times, size, status = [], 0, 0
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        size, status = len(answer.content), answer.status_code
    times.sort()
    return {"path": path, "n": n, "status": status, "bytes": size, "p50": statistics.median(times),
            "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}


async def main(args: argparse.Namespace) -> None:
    stack = DevStack(services={s: free_port() for s in SERVICES}, broker_port=0, log_dir=Path(".devstack/bench-logs/console"))
    await stack.start()
    try:
        urls = stack.urls()
        console = urls.pop("console")
        plan = make_plan(2025, shops=args.shops, bank=args.bank, fund=args.fund)
        started = time.monotonic()
        result = await simulate({k: v for k, v in urls.items() if k in ("intake", "visits", "loans", "referrals", "audit")}, plan,
                                tokens=TOKENS, show_progress=False)
        print(f"demo data: {args.shops} shops, {args.bank + args.fund} applications in {time.monotonic() - started:.0f} s (ok={result.ok})")
        async with httpx.AsyncClient(timeout=60) as api:
            staff = {"Authorization": f"Bearer {TOKENS['staff']}"}
            business = (await api.get(urls["intake"] + "/businesses", params={"limit": 1, "dong": "제기동"}, headers=staff)).json()["items"][0]["id"]
            visit = (await api.get(urls["visits"] + "/visits", params={"planner_id": "planner-01", "limit": 1},
                                   headers={"Authorization": f"Bearer {TOKENS['planner']}"})).json()[0]
            application = (await api.get(urls["loans"] + "/applications", params={"limit": 1, "status": "disbursed"}, headers=staff)).json()
            application = application[0]["id"] if application else None
        n, heavy = args.requests, max(20, args.requests // 10)
        plans = {
            "staff": [("/businesses", n), ("/businesses?dong=제기동&stage=operating", n), (f"/businesses/{business}", n),
                      ("/businesses/new", n), ("/support-requests", n)],
            "planner": [(f"/planner/route?day={visit['scheduled_for']}", n), (f"/visits/{visit['id']}/record", n)],
            "loan-officer": [("/loans/queue", n), ("/loans/queue?status=disbursed", n), ("/loans/overdue", n), ("/loans/rounds", n)]
            + ([(f"/loans/applications/{application}", n)] if application else []),
            "auditor": [("/audit/verify", heavy), ("/audit/report?period=2025H1", heavy),
                        (f"/audit/application?id={application}&at=2025-06-30T18:00", n) if application else ("/audit/application", n)],
            "operator": [("/ops", n)],
        }
        rows = []
        for user, pages in plans.items():
            client = await signed_in(console, user)
            try:
                for path, count in pages:
                    await client.get(path)  # warm
                    rows.append({"user": user, **await measure(client, path, count)})
            finally:
                await client.aclose()
        async with httpx.AsyncClient(base_url=console) as anonymous:
            rows.append({"user": "-", **await measure(anonymous, "/login", n)})
            for asset in ASSETS:
                answer = await anonymous.get(asset)
                rows.append({"user": "-", "path": asset, "n": 1, "status": answer.status_code, "bytes": len(answer.content), "p50": 0, "p99": 0})
        print(f"| user | page | requests | status | bytes | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['user']} | `{r['path']}` | {r['n']} | {r['status']} | {r['bytes']:,} | {r['p50']:.1f} | {r['p99']:.1f} |")
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--shops", type=int, default=1500)
    parser.add_argument("--bank", type=int, default=40)
    parser.add_argument("--fund", type=int, default=43)
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(main(parser.parse_args()))
