"""Crashes: under a steady mixed workload through the HTTP APIs, SIGKILL a random service
at a random moment and restart it, again and again. Afterwards every accepted command's
events are in the audit ledger exactly once, every consumer applied every event once,
and each service's read models equal their replay from the log."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time

import pytest

from tests.chaos.scale import size
from tests.chaos.system import (
    SERVICES,
    caught_up,
    command_log,
    dead_letters,
    exactly_once,
    figures,
    outbox_heads,
    play,
    replays_equal,
    start_all,
    verify_ok,
)


# 20 kills, each followed by a restart and a full catch-up, take longer than a test's usual 300 s.
@pytest.mark.timeout(size(600, 2400))
async def test_random_sigkills_under_load_lose_nothing_and_repeat_nothing(stack):
    seed = int(os.environ.get("SANGSAENG_CHAOS_SEED", time.time_ns() % 1_000_000))
    print(f"\nchaos seed {seed} (SANGSAENG_CHAOS_SEED={seed} repeats this run's kills)")
    rng = random.Random(seed)
    kills = size(3, 20)
    processes = await start_all(stack)
    api = command_log(processes)
    rounds: list = []
    stop = asyncio.Event()

    async def workload() -> None:
        # Small half-years, one after another, until the killing is over.
        while not stop.is_set():
            rounds.append(await play(api, seed=seed + len(rounds), shops=size(6, 16), bank=size(1, 3), fund=size(1, 3)))

    load = asyncio.create_task(workload())
    killed: list[dict] = []
    conn = await stack.db()
    try:
        await asyncio.sleep(rng.uniform(2, 5))  # let the load start
        for _ in range(kills):
            assert not load.done() or load.exception() is None, load.exception()
            service = rng.choice(SERVICES)
            process = processes[service]
            process.kill()  # SIGKILL, whatever it was doing
            killed_at = time.monotonic()
            await asyncio.sleep(rng.uniform(0, 2))  # down for a moment
            process.start()
            await process.wait_ready(timeout=120)
            ready = time.monotonic() - killed_at
            # Caught up: everything committed by now, in every service, is published and
            # applied by every consumer and in the ledger.
            heads = await outbox_heads(conn)
            await caught_up(stack, heads, timeout=300)
            killed.append({"service": service, "ready_s": round(ready, 2), "caught_up_s": round(time.monotonic() - killed_at, 2)})
            print(f"kill {len(killed)}: {killed[-1]}")
            await asyncio.sleep(rng.uniform(0.5, 4))
        stop.set()
        await asyncio.wait_for(load, 600)
    finally:
        stop.set()
        if not load.done():
            load.cancel()
        await conn.close()
        await api.aclose()

    for result in rounds:
        assert result.problems == [], result.problems
    await caught_up(stack)
    found = await exactly_once(stack, api.accepted)
    assert found.clean(), found
    assert found.commands_accepted > 0 and len(killed) == kills
    assert await replays_equal(stack) == {"intake": True, "visits": True, "loans": True, "referrals": True, "districts": True}
    verify = await verify_ok(processes)
    assert verify["ok"] is True, verify
    dlq = await dead_letters(stack)
    assert sum(dlq.values()) == 0, dlq

    catch_up = [k["caught_up_s"] for k in killed]
    figures("crashes", {
        "seed": seed, "kills": len(killed), "killed": dict(sorted({s: sum(k["service"] == s for k in killed) for s in SERVICES}.items())),
        "rounds": len(rounds), "commands_accepted": found.commands_accepted, "events_in_ledger": found.events_in_ledger,
        "lost": found.lost, "duplicated": found.duplicated, "dead_letters": dlq,
        "ready_s": _spread([k["ready_s"] for k in killed]), "caught_up_s": _spread(catch_up), "events_by_type": dict(found.by_type),
    })


def _spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": round(statistics.median(values), 2), "max": max(values)}
