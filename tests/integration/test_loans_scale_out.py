"""Scaling loans' consumers out: 2,000 applications through the real path (POST /applications
→ outbox → relay → LoanSubmitted → screening consumers), first 1,000 with one worker, then
1,000 with three workers of the same consumer group, one of them SIGKILLed mid-way.

Checks: every application screened exactly once (one screening row, one LoanScreened after
dedupe by ce_id), the round's budget never over-committed while some applications are
refused for it, and each business's applications screened in the order they were submitted.
Prints the figures (pytest -s) and writes them to .devstack/test-logs/loans-scale-out.json.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

from tests.integration.loans_helpers import LOANS_TOPIC, OFFICER, Upstream, application_body, known_to_loans
from tests.support import STAFF, eventually, headers_of, read_topic, url_for

BUSINESSES = 250
PER_BUSINESS_PER_PHASE = 4  # 250 × 4 × 2 phases = 2,000 applications
PARTITIONS = "6"
BUDGET = 12_000_000_000  # about 40% of what the fund applications ask for
ENV = {"TOPIC_PARTITIONS": PARTITIONS, "CONSUMER_SESSION_TIMEOUT_MS": "6000"}


def _count(process, message: str) -> int:
    return process.log_path.read_text(encoding="utf-8", errors="replace").count(message)


async def _submit_phase(client, api, businesses, rng, order: dict[str, list[str]], fund_ids: set[str]) -> None:
    gate = asyncio.Semaphore(24)

    async def one_business(business_id) -> None:
        for _ in range(PER_BUSINESS_PER_PHASE):  # one business's applications one after the other
            fund = rng.random() < 0.75
            body = application_body(business_id, program="sme_development_fund" if fund else "bank_cooperation",
                                    amount_krw=rng.randrange(10, 31) * 1_000_000, submitted_on="2025-05-02")
            async with gate:
                response = await client.post(url_for(api, "/applications"), json=body, headers=STAFF)
            assert response.status_code == 201, response.text
            order[str(business_id)].append(response.json()["id"])
            if fund:
                fund_ids.add(response.json()["id"])

    await asyncio.gather(*[one_business(b) for b in businesses])


async def test_screening_scales_out_exactly_once_within_budget_in_order(stack):
    started = time.monotonic()
    rng = random.Random(5)
    api = await stack.start("loans", "api", name="loans-api", **{**ENV, "LOG_LEVEL": "WARNING"})  # no line per request
    relay = stack.spawn("loans", "relay", name="relay-1", **ENV)
    first = stack.spawn("loans", "consume", name="worker-1", **ENV)
    conn = await stack.db()
    order: dict[str, list[str]] = defaultdict(list)
    fund_ids: set[str] = set()

    async def screened() -> int:
        return await conn.fetchval("select count(*) from loans.screenings")

    async def all_screened(n: int, timeout: float) -> None:
        await eventually(lambda: _ge(n), timeout=timeout, interval=0.05, what=f"{n} screenings")

    async def _ge(n: int) -> bool:
        return await screened() >= n

    try:
        async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=60) as client:
            businesses = [await upstream.business(industry="주점업" if i % 10 == 9 else "음식점업", wait=False) for i in range(BUSINESSES)]
            await upstream.producer.flush()
            await known_to_loans(stack, *businesses)
            budget = {"name": "2025년 상반기 (test budget)", "opens_on": "2025-04-21", "closes_on": "2025-09-16", "budget_krw": BUDGET}
            assert (await client.put(url_for(api, "/rounds/2025-1"), json=budget, headers=OFFICER)).status_code == 200

            # Phase 1: 1,000 applications wait in the outbox (relay stopped), then reach one worker at once.
            relay.terminate()
            await _submit_phase(client, api, businesses, rng, order, fund_ids)
            relay = stack.spawn("loans", "relay", name="relay-2", **ENV)
            await all_screened(1000, timeout=180)
            one = await conn.fetchrow("select count(*) as n, extract(epoch from max(screened_at) - min(screened_at)) as s from loans.screenings")

            # Phase 2: scale out to three workers (a rebalance), then 1,000 more applications.
            relay.terminate()
            second = stack.spawn("loans", "consume", name="worker-2", **ENV)
            third = stack.spawn("loans", "consume", name="worker-3", **ENV)
            await eventually(lambda: asyncio.sleep(0, _count(second, "partitions assigned") >= 1 and _count(third, "partitions assigned") >= 1
                                                   and _count(first, "partitions assigned") >= 2),
                             timeout=90, what="three workers sharing the partitions")
            await _submit_phase(client, api, businesses, rng, order, fund_ids)
            phase_2_start = await conn.fetchval("select clock_timestamp()")
            relay = stack.spawn("loans", "relay", name="relay-3", **ENV)
            await all_screened(1250, timeout=180)
            second.kill()  # SIGKILL mid-stream: its partitions wait for the session timeout, then move
            killed_at = await conn.fetchval("select clock_timestamp()")
            await all_screened(2000, timeout=180)
            await asyncio.sleep(2)  # anything repeated would land now

        # ---------------------------------------------------------------- exactly once
        rows = [{**r, "failed_rules": json.loads(r["failed_rules"])} for r in await conn.fetch("select * from loans.screenings order by seq")]
        assert len(rows) == 2000 and len({r["application_id"] for r in rows}) == 2000
        events = await read_topic(stack.bootstrap_servers, LOANS_TOPIC)
        unique = {headers_of(r)["ce_id"]: r for r in events}
        screened_events = [r for r in unique.values() if headers_of(r)["ce_type"] == "sangsaeng.loans.LoanScreened.v1"]
        per_application = Counter(json.loads(r.value)["application_id"] for r in screened_events)
        assert len(per_application) == 2000 and set(per_application.values()) == {1}
        assert {str(a) for a in per_application} == {a for ids in order.values() for a in ids}

        # ---------------------------------------------------------------- budget
        round_1 = await conn.fetchrow("select budget_krw, reserved_krw from loans.fund_rounds where id = '2025-1'")
        reserved = sum(r["reserved_krw"] for r in rows)
        assert round_1["reserved_krw"] == reserved <= round_1["budget_krw"] == BUDGET
        refused_for_budget = sum(1 for r in rows if any(f["rule"] == "round_budget" for f in r["failed_rules"]))
        eligible_fund = sum(1 for r in rows if r["eligible"] and str(r["application_id"]) in fund_ids)
        assert refused_for_budget > 100 and eligible_fund > 100
        assert BUDGET - reserved < 30_000_000 or refused_for_budget == 0  # refused only when the rest could not take it
        excluded = sum(1 for r in rows if any(f["rule"] == "excluded_industry" for f in r["failed_rules"]))
        assert excluded == 200  # 25 bars × 8 applications

        # ---------------------------------------------------------------- per-business order
        by_business: dict[str, list[str]] = defaultdict(list)
        for r in rows:  # seq is the order of screening
            by_business[str(r["business_id"])].append(str(r["application_id"]))
        assert by_business == order
        on_topic: dict[str, list[str]] = defaultdict(list)
        for r in sorted(screened_events, key=lambda r: (r.partition, r.offset)):
            on_topic[headers_of(r)["ce_subject"]].append(json.loads(r.value)["application_id"])
        assert on_topic == order

        # ---------------------------------------------------------------- figures
        workers = Counter(r["worker"] for r in rows)
        # The killed worker's loans partitions: its last assignment (it may have committed nothing:
        # a batch waiting for the round's row lock is rolled back by the kill and redelivered).
        last_assignment = [json.loads(line) for line in second.log_path.read_text(encoding="utf-8").splitlines()
                           if '"partitions assigned"' in line][-1]["partitions"]
        killed_partitions = {int(p.rsplit(":", 1)[1]) for p in last_assignment if p.startswith(LOANS_TOPIC + ":")}
        resumed = await conn.fetchval(
            """select extract(epoch from min(screened_at) - $1) from loans.screenings
               where kafka_partition = any($2::int[]) and screened_at > $1""",
            killed_at, sorted(killed_partitions),
        )
        three = await conn.fetchrow(
            """select count(*) as n, extract(epoch from max(screened_at) - min(screened_at)) as s from loans.screenings
               where screened_at > $1 and screened_at <= $2""",
            phase_2_start, killed_at,
        )
        tail = await conn.fetchrow(
            "select count(*) as n, extract(epoch from max(screened_at) - $1) as s from loans.screenings where screened_at > $1", killed_at
        )
        figures = {
            "applications": 2000,
            "partitions": int(PARTITIONS),
            "one_worker": {"screened": one["n"], "seconds": round(float(one["s"]), 2), "per_second": round(one["n"] / float(one["s"]), 1)},
            "three_workers_before_kill": {"screened": three["n"], "seconds": round(float(three["s"]), 2),
                                          "per_second": round(three["n"] / float(three["s"]), 1)},
            "after_kill": {"screened": tail["n"], "seconds": round(float(tail["s"]), 2)},
            "killed_worker_partitions": sorted(killed_partitions),
            "recovery_seconds": round(float(resumed), 2) if resumed is not None else None,
            "screenings_by_worker": {("killed " if w.endswith(f":{second.pid}") else "") + w: n for w, n in workers.items()},
            "consumer_max_records": int(ENV.get("CONSUMER_MAX_RECORDS", "500")),
            "refused_for_budget": refused_for_budget,
            "budget_krw": BUDGET,
            "reserved_krw": reserved,
            "test_seconds": round(time.monotonic() - started, 1),
        }
        print("\nloans scale-out:", json.dumps(figures, indent=2, ensure_ascii=False))
        out = Path(stack.log_dir).parent / "loans-scale-out.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
        assert killed_partitions and resumed is not None, figures
    finally:
        await conn.close()
