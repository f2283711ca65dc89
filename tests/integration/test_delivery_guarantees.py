"""The delivery guarantees of DESIGN.md, each proven by killing a real process at the
worst moment: nothing lost, nothing applied twice, nothing reordered."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import httpx

from tests.support import STAFF, Publisher, business_body, committed_offsets, eventually, headers_of, read_topic, url_for

INTAKE_TOPIC = "sangsaeng.intake.events"


async def _register(client: httpx.AsyncClient, intake, **changes) -> dict:
    response = await client.post(url_for(intake, "/businesses"), json=business_body(**changes), headers=STAFF)
    assert response.status_code == 201, response.text
    return response.json()


async def _in_visits(stack, business_id: str) -> bool:
    conn = await stack.db()
    try:
        return bool(await conn.fetchval("select count(*) from visits.businesses where id = $1", business_id))
    finally:
        await conn.close()


async def _exited(process, timeout: float = 30.0) -> int:
    return await eventually(lambda: asyncio.sleep(0, process.returncode), timeout=timeout, what=f"{process.name} to exit")


async def test_relay_killed_between_commit_and_publish_delivers_after_restart(stack):
    api = await stack.start("intake", "api")
    relay = stack.spawn("intake", "relay", failpoints="relay.before_publish=kill")
    await stack.start("visits")
    async with httpx.AsyncClient(timeout=10) as client:
        business = await _register(client, api)
    assert await _exited(relay) == -signal.SIGKILL

    conn = await stack.db()
    try:
        row = await conn.fetchrow("select published_at from intake.outbox where key = $1", business["id"])
        assert row is not None and row["published_at"] is None  # committed, never published
    finally:
        await conn.close()

    stack.spawn("intake", "relay", name="intake-relay-again")
    await eventually(lambda: _in_visits(stack, business["id"]), what="the business in visits after the relay restarted")
    records = [r for r in await read_topic(stack.bootstrap_servers, INTAKE_TOPIC) if r.key.decode() == business["id"]]
    assert len(records) == 1


async def test_relay_killed_after_publish_before_marking_repeats_the_event_but_not_its_effect(stack):
    api = await stack.start("intake", "api")
    relay = stack.spawn("intake", "relay", failpoints="relay.after_publish=kill")
    await stack.start("visits")
    async with httpx.AsyncClient(timeout=10) as client:
        business = await _register(client, api, dong="회기동")
    assert await _exited(relay) == -signal.SIGKILL
    stack.spawn("intake", "relay", name="intake-relay-again")

    async def published_twice():
        records = [r for r in await read_topic(stack.bootstrap_servers, INTAKE_TOPIC) if r.key.decode() == business["id"]]
        return records if len(records) == 2 else None

    records = await eventually(published_twice, what="the event published a second time")
    assert headers_of(records[0])["ce_id"] == headers_of(records[1])["ce_id"]

    conn = await stack.db()
    try:
        await eventually(lambda: conn.fetchval("select published_at is not null from intake.outbox where key = $1", business["id"]))
        await eventually(lambda: _in_visits(stack, business["id"]))
        await asyncio.sleep(2)  # give the repeat every chance to be applied twice
        assert await conn.fetchval("select businesses from visits.dong_business_counts where dong = '회기동'") == 1
        assert await conn.fetchval("select count(*) from visits.inbox") == 1
    finally:
        await conn.close()


async def test_consumer_killed_after_its_commit_before_the_offset_commit_has_no_second_effect(stack):
    intake = await stack.start("intake")
    consumer = stack.spawn("visits", "consume", failpoints="consumer.after_db_commit=kill")
    async with httpx.AsyncClient(timeout=10) as client:
        business = await _register(client, intake, dong="이문1동")
        assert await _exited(consumer) == -signal.SIGKILL

        conn = await stack.db()
        try:
            assert await conn.fetchval("select count(*) from visits.inbox") == 1  # the effect committed
            committed = await committed_offsets(stack.bootstrap_servers, "sangsaeng.visits", INTAKE_TOPIC)
            assert not any(committed.values()), committed  # ... but not the offset

            visits = await stack.start("visits")

            async def offsets_caught_up():
                offsets = await committed_offsets(stack.bootstrap_servers, "sangsaeng.visits", INTAKE_TOPIC)
                return sum(o or 0 for o in offsets.values()) == 1

            await eventually(offsets_caught_up, what="the redelivered record's offset to be committed")
            assert await conn.fetchval("select businesses from visits.dong_business_counts where dong = '이문1동'") == 1
            assert await conn.fetchval("select count(*) from visits.inbox") == 1
            metrics = (await client.get(url_for(visits, "/metrics"))).text
            assert 'result="duplicate"' in metrics  # it was delivered again, and recognised
        finally:
            await conn.close()
    assert business["id"]


async def test_poison_messages_go_to_the_dlq_with_their_reason_and_the_consumer_moves_on(stack):
    intake, visits = await asyncio.gather(stack.start("intake"), stack.start("visits"))
    good_headers = {
        "ce_specversion": "1.0", "ce_id": "018f0000-0000-7000-8000-000000000001", "ce_source": "/sangsaeng/intake",
        "ce_type": "sangsaeng.intake.BusinessRegistered.v1", "ce_time": "2025-05-02T09:00:00+09:00",
        "ce_subject": "3b0a3f9e-1111-4222-8333-444455556666", "content-type": "application/json",
    }

    def encoded(headers):
        return [(k, v.encode()) for k, v in headers.items()]

    poison = [
        ("missing_headers", [], b"\x00\x01 garbage"),
        ("schema_invalid", encoded(good_headers), json.dumps({"business_id": "3b0a3f9e-1111-4222-8333-444455556666", "employees": "many"}).encode()),
        ("unsupported_version", encoded({**good_headers, "ce_type": "sangsaeng.intake.BusinessRegistered.v9", "ce_id": "018f0000-0000-7000-8000-000000000002"}), b"{}"),
        ("wrong_source", encoded({**good_headers, "ce_source": "/sangsaeng/loans", "ce_id": "018f0000-0000-7000-8000-000000000003"}), b"{}"),
    ]
    async with Publisher(stack.bootstrap_servers) as publisher:
        # Every partition gets every kind of poison first, so wherever the good event lands it
        # sits behind poison on its partition.
        for partition in range(4):
            for _, headers, value in poison:
                await publisher.publish_raw(INTAKE_TOPIC, value, key=b"poison", headers=headers, partition=partition)

    async with httpx.AsyncClient(timeout=10) as client:
        business = await _register(client, intake)
        await eventually(lambda: _in_visits(stack, business["id"]), what="the good event behind the poison")

    dead = await eventually(
        lambda: _records_if(stack, "sangsaeng.visits.dlq", 16), what="16 dead letters"
    )
    reasons = sorted(headers_of(r)["dlq_reason"] for r in dead)
    assert reasons == sorted([reason for reason, _, _ in poison] * 4)
    for record in dead:
        headers = headers_of(record)
        assert headers["dlq_origin_topic"] == INTAKE_TOPIC
        assert headers["dlq_consumer"] == "visits"
        assert int(headers["dlq_origin_partition"]) in range(4) and int(headers["dlq_origin_offset"]) >= 0
        assert headers["dlq_error"]
    garbage = [r for r in dead if headers_of(r)["dlq_reason"] == "missing_headers"]
    assert all(r.value == b"\x00\x01 garbage" for r in garbage)  # the original bytes are kept
    assert (await (httpx.AsyncClient().get(url_for(visits, "/ready")))).status_code == 200


async def _records_if(stack, topic: str, count: int):
    records = await read_topic(stack.bootstrap_servers, topic)
    return records if len(records) >= count else None


async def test_a_standby_relay_takes_over_when_the_leader_dies(stack):
    api = await stack.start("intake", "api")
    first = stack.spawn("intake", "relay", name="relay-a")
    second = stack.spawn("intake", "relay", name="relay-b")
    await stack.start("visits")
    conn = await stack.db()
    try:
        async def leader_pid():
            return await conn.fetchval(
                # visits' relay holds a leader lock of the same class: only intake's is asked about
                """select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
                   where l.locktype = 'advisory' and l.classid = 7002 and l.granted and a.application_name like 'intake-relay-%'"""
            )

        def logged(process, message: str) -> bool:
            return message in process.log_path.read_text(encoding="utf-8", errors="replace")

        async def one_leads_one_waits():
            leading = [p for p in (first, second) if logged(p, "relay is leader")]
            waiting = [p for p in (first, second) if logged(p, "relay standing by")]
            return len(leading) == 1 and len(waiting) == 1 and leading != waiting

        await eventually(one_leads_one_waits, timeout=90, what="one relay leading and the other standing by")
        leader_app = await eventually(leader_pid, what="a relay leader")
        leader = first if leader_app.endswith(f"-{first.pid}") else second
        standby = second if leader is first else first
        assert leader_app.endswith(f"-{leader.pid}")
        leader.kill()
        await eventually(lambda: _app_is(leader_pid, f"-{standby.pid}"), timeout=60, what="the standby to lead")

        async with httpx.AsyncClient(timeout=10) as client:
            business = await _register(client, api)
        await eventually(lambda: _in_visits(stack, business["id"]), what="an event published by the new leader")
    finally:
        await conn.close()


async def _app_is(leader_pid, suffix: str) -> bool:
    app = await leader_pid()
    return bool(app and app.endswith(suffix))


async def test_registrations_are_accepted_while_the_broker_is_paused_and_all_arrive_after(stack, controllable_broker):
    intake, visits = await asyncio.gather(stack.start("intake"), stack.start("visits"))
    accepted = []
    async with httpx.AsyncClient(timeout=10) as client:
        controllable_broker.pause()
        try:
            started = time.monotonic()
            while time.monotonic() - started < 10:
                response = await client.post(url_for(intake, "/businesses"), json=business_body(), headers=STAFF)
                assert response.status_code == 201, response.text
                accepted.append(response.json()["id"])
                await asyncio.sleep(0.5)
        finally:
            controllable_broker.resume()

    conn = await stack.db()
    try:
        async def all_arrived():
            return await conn.fetchval("select count(*) from visits.businesses where id = any($1::uuid[])", accepted) == len(accepted)

        await eventually(all_arrived, timeout=90, what=f"all {len(accepted)} registrations in visits")
        assert await conn.fetchval("select count(*) from visits.inbox") == len(accepted)
    finally:
        await conn.close()
    assert len(accepted) >= 15
