"""One business's events keep their order across relay crashes and consumer-group rebalances."""

from __future__ import annotations

import asyncio

import httpx

from tests.support import STAFF, business_body, eventually, url_for

CYCLE = ["closing", "closed", "restarting", "operating"]
ROUNDS = 4  # 16 stage changes per business, one round per phase of the test
BUSINESSES = 12


async def _walk(client: httpx.AsyncClient, api, business_id: str, gates: list[asyncio.Event]) -> None:
    for gate in gates:
        await gate.wait()
        for stage in CYCLE:
            response = await client.post(url_for(api, f"/businesses/{business_id}/stage"), json={"stage": stage}, headers=STAFF)
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.1)


def _count(process, message: str) -> int:
    return process.log_path.read_text(encoding="utf-8", errors="replace").count(message)


def _assignments(process) -> int:
    return _count(process, "partitions assigned")


async def _leading(relay) -> None:
    await eventually(lambda: asyncio.sleep(0, _count(relay, "relay is leader") >= 1), timeout=60, what=f"{relay.name} to lead")


async def test_per_business_order_survives_two_relay_restarts_and_two_rebalances(stack):
    api = await stack.start("intake", "api")
    relay = stack.spawn("intake", "relay", name="relay-1")
    first = stack.spawn("visits", "consume", name="visits-consume-1")
    await _leading(relay)
    gates = [asyncio.Event() for _ in range(ROUNDS)]

    async with httpx.AsyncClient(timeout=30) as client:
        ids = []
        for _ in range(BUSINESSES):
            response = await client.post(url_for(api, "/businesses"), json=business_body(), headers=STAFF)
            assert response.status_code == 201
            ids.append(response.json()["id"])
        walkers = asyncio.gather(*[_walk(client, api, business_id, gates) for business_id in ids])
        await eventually(lambda: asyncio.sleep(0, _assignments(first) >= 1), what="the first consumer to join")

        # Round 1 while the relay is killed mid-stream and restarted.
        gates[0].set()
        await asyncio.sleep(0.3)
        relay.kill()
        relay = stack.spawn("intake", "relay", name="relay-2")
        await _leading(relay)

        # Round 2 while a second consumer joins the group (rebalance) and the relay dies again.
        second = stack.spawn("visits", "consume", name="visits-consume-2")
        gates[1].set()
        await asyncio.sleep(0.3)
        relay.kill()
        relay = stack.spawn("intake", "relay", name="relay-3")
        await _leading(relay)
        await eventually(lambda: asyncio.sleep(0, _assignments(second) >= 1), timeout=60, what="the second consumer to get partitions")

        # Round 3 while the first consumer leaves (rebalance again); round 4 with one consumer.
        gates[2].set()
        await asyncio.sleep(0.3)
        first.terminate()
        await asyncio.sleep(1)
        gates[3].set()
        await walkers

    expected_changes = BUSINESSES * len(CYCLE) * ROUNDS
    conn = await stack.db()
    try:
        async def all_applied():
            return await conn.fetchval("select count(*) from visits.business_stage_history") == expected_changes

        await eventually(all_applied, timeout=120, what=f"{expected_changes} stage changes in visits")
        for business_id in ids:
            intake_order = await conn.fetch(
                "select event_id from intake.outbox where key = $1 and event_type like '%BusinessStageChanged%' order by seq", business_id
            )
            visits_order = await conn.fetch(
                "select event_id, from_stage, to_stage from visits.business_stage_history where business_id = $1 order by position",
                business_id,
            )
            assert [r["event_id"] for r in visits_order] == [r["event_id"] for r in intake_order]
            assert [r["to_stage"] for r in visits_order] == CYCLE * ROUNDS
            assert [r["from_stage"] for r in visits_order] == ["operating", *(CYCLE * ROUNDS)[:-1]]
        assert await conn.fetchval("select count(*) from visits.inbox") == expected_changes + BUSINESSES
        assert _assignments(second) >= 2  # it was rebalanced again when the first one left
    finally:
        await conn.close()
