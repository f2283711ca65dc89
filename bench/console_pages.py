"""The console's pages under `make demo`'s data: each page's server time (p50/p99) and size, and each asset's.

    .venv/bin/python bench/console_pages.py [--shops 4500 --bank 118 --fund 130] [--requests 200]
    .venv/bin/python bench/console_pages.py --console http://127.0.0.1:8006   # against `make run` (after `make demo`)

Without --console it starts broker, PostgreSQL, every service and the console on free ports
(sangsaeng_devstack.DevStack) and plays the demo's half-year through the real APIs first (the whole one by
default). Then it signs in as each role and asks for each page `--requests` times, one at a time (so the time is
the page's own, not a queue's). "server" is the console's own time for the page, API calls included (its
`Server-Timing` header); "round trip" is what the client waited, on the same machine. Sizes are the HTML as served
(the console does not compress) and, for comparison, gzip -6 of it.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from sangsaeng_demo.client import IssuerTokens
from sangsaeng_devstack.issuer import DEV_PASSWORD
SEOUL = ZoneInfo("Asia/Seoul")
ASSETS = ["/static/console.css", "/static/console.js", "/static/favicon.svg"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def server_ms(answer: httpx.Response) -> float:
    found = re.search(r"app;dur=([0-9.]+)", answer.headers.get("server-timing", ""))
    return float(found.group(1)) if found else float("nan")


# who signs in for each column of pages (development users, sangsaeng_devstack.users)
SUBJECTS = {"staff": "S-1001", "planner": "P-2001", "loan-officer": "L-3001", "auditor": "A-4001", "operator": "O-5001",
            "agency-semas": "G-SEMAS"}


async def signed_in(base: str, user: str) -> httpx.AsyncClient:
    """Signed in as a browser is: the console sends it to the issuer (authorization code + PKCE) and back."""
    client = httpx.AsyncClient(base_url=base, timeout=120)
    start = await client.get("/login")
    authorize = httpx.URL(start.headers["location"])
    async with httpx.AsyncClient(timeout=30) as issuer:
        signed = await issuer.post(str(authorize.copy_with(query=None)),
                                   data={**dict(authorize.params), "username": SUBJECTS[user], "password": DEV_PASSWORD})
    answer = await client.get(signed.headers["location"])
    assert answer.status_code == 303, answer.text
    return client


async def measure(client: httpx.AsyncClient, path: str, n: int) -> dict:
    await client.get(path)  # warm: templates compiled, connections open
    server, trip, size, zipped, status = [], [], 0, 0, 0
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get(path)
        trip.append((time.perf_counter() - started) * 1000)
        server.append(server_ms(answer))
        status = answer.status_code
        size = len(answer.content)
    zipped = len(gzip.compress(answer.content, 6))
    return {"path": path, "n": n, "status": status, "bytes": size, "gzip": zipped,
            "p50": percentile(server, 0.5), "p99": percentile(server, 0.99), "trip50": percentile(trip, 0.5), "trip99": percentile(trip, 0.99)}


async def samples(urls: dict[str, str], tokens: IssuerTokens) -> dict[str, str | None]:
    """Ids to open pages with: a business with a consent, one of planner-01's visits, a disbursed application."""
    staff = {"Authorization": f"Bearer {await tokens.token_for('S-1001')}"}
    async with httpx.AsyncClient(timeout=60) as api:
        businesses = (await api.get(urls["intake"] + "/businesses", params={"limit": 50, "dong": "제기동"}, headers=staff)).json()["items"]
        business, consent = businesses[0]["id"], None
        for found in businesses:
            items = (await api.get(urls["intake"] + f"/businesses/{found['id']}/consents", headers=staff)).json()["items"]
            active = [c for c in items if c["active"]]
            if active:
                business, consent = found["id"], active[0]["id"]
                break
        visits = (await api.get(urls["visits"] + "/visits", params={"planner_id": "planner-01", "limit": 1},
                                headers={"Authorization": f"Bearer {await tokens.token_for('P-2001')}"})).json()
        applications = (await api.get(urls["loans"] + "/applications", params={"limit": 1, "status": "disbursed"}, headers=staff)).json()
        application, moment = (applications[0]["id"] if applications else None), None
        if application:  # a moment in its history (the ledger's time: when the demo ran, not the simulated 2025 dates)
            history = (await api.get(urls["audit"] + f"/applications/{application}",
                                     headers={"Authorization": f"Bearer {await tokens.token_for('A-4001')}"})).json()["history"]
            moment = datetime.fromisoformat(history[len(history) // 2]["time"]).astimezone(SEOUL).strftime("%Y-%m-%dT%H:%M:%S")
    return {"business": business, "consent": consent, "visit": visits[0]["id"] if visits else None,
            "visit_day": visits[0]["scheduled_for"] if visits else None, "application": application, "moment": moment}


def plans(ids: dict[str, str | None], n: int) -> dict[str, list[tuple[str, int]]]:
    business, heavy = ids["business"], max(10, n // 10)
    staff = [("/businesses", n), ("/businesses?dong=제기동&stage=operating", n), ("/businesses?q=분식", n), (f"/businesses/{business}", n),
             (f"/businesses/{business}/timeline", n), ("/businesses/new", n), (f"/businesses/{business}/loan", n),
             (f"/businesses/{business}/erasure", n), ("/support-requests", n)]
    if ids["consent"]:
        staff.append((f"/businesses/{business}/consents/{ids['consent']}/withdraw", n))
    planner = [(f"/planner/route?day={ids['visit_day']}", n), (f"/visits/{ids['visit']}/record", n)] if ids["visit"] else []
    officer = [("/loans/queue", n), ("/loans/queue?status=disbursed", n), ("/loans/overdue", n), ("/loans/rounds", n)]
    # the export goes by the events' own (CloudEvents) time, which is when the demo ran: this half-year's
    now = datetime.now(SEOUL)
    auditor = [("/audit/verify", heavy), ("/audit/report?period=2025H1", heavy),
               (f"/audit/export?period={now.year}H{1 if now.month <= 6 else 2}", max(3, n // 50)), ("/audit/application", n)]
    if ids["application"]:
        officer.append((f"/loans/applications/{ids['application']}", n))
        auditor += [(f"/audit/application?id={ids['application']}", n), (f"/audit/application?id={ids['application']}&at={ids['moment']}", n)]
    return {"staff": staff, "planner": planner, "loan-officer": officer, "auditor": auditor, "operator": [("/ops", n)],
            "agency-semas": [("/agency/referrals", n)]}


async def run(console: str, urls: dict[str, str], n: int, tokens: IssuerTokens) -> list[dict]:
    ids = await samples(urls, tokens)
    rows = []
    for user, pages in plans(ids, n).items():
        client = await signed_in(console, user)
        try:
            for path, count in pages:
                rows.append({"user": user, **await measure(client, path, count)})
        finally:
            await client.aclose()
    async with httpx.AsyncClient(base_url=console) as anonymous:
        rows.append({"user": "-", **await measure(anonymous, "/login", n)})
        for asset in ASSETS:
            rows.append({"user": "-", **await measure(anonymous, asset, 20)})
    return rows


def show(rows: list[dict]) -> None:
    print("| user | page | requests | status | bytes | gzip | server p50 ms | server p99 ms | round trip p50 / p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['user']} | `{r['path']}` | {r['n']} | {r['status']} | {r['bytes']:,} | {r['gzip']:,} | {r['p50']:.1f} | {r['p99']:.1f} "
              f"| {r['trip50']:.1f} / {r['trip99']:.1f} |")


async def main(args: argparse.Namespace) -> None:
    if args.console:
        urls = {s: os.environ.get(f"{s.upper()}_URL", f"http://127.0.0.1:{port}") for s, port in
                (("intake", 8001), ("visits", 8002), ("loans", 8003), ("referrals", 8004), ("audit", 8005))}
        show(await run(args.console, urls, args.requests, IssuerTokens.from_env()))
        return

    from sangsaeng_demo.cli import simulate
    from sangsaeng_demo.plan import make_plan
    from sangsaeng_devstack._util import free_port
    from sangsaeng_devstack.stack import SERVICES, DevStack

    stack = DevStack(services={s: free_port() for s in SERVICES}, broker_port=0, issuer_port=0, log_dir=Path(".devstack/bench-logs/console"))
    await stack.start()
    try:
        urls = stack.urls()
        console = urls.pop("console")
        plan = make_plan(2025, shops=args.shops, bank=args.bank, fund=args.fund)
        started = time.monotonic()
        tokens = IssuerTokens(stack.auth_env["AUTH_ISSUER"], DEV_PASSWORD)
        result = await simulate(urls, plan, tokens=tokens, show_progress=False)
        print(f"demo data: {args.shops:,} shops, {args.bank + args.fund} applications, in {time.monotonic() - started:.0f} s (ok={result.ok})")
        show(await run(console, urls, args.requests, tokens))
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--shops", type=int, default=4500)
    parser.add_argument("--bank", type=int, default=118)
    parser.add_argument("--fund", type=int, default=130)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--console", help="measure a running console (e.g. make run's http://127.0.0.1:8006) instead of starting one")
    asyncio.run(main(parser.parse_args()))
