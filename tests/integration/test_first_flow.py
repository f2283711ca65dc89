"""The first event flow: intake registers a business, visits learns of it through Kafka."""

from __future__ import annotations

import asyncio

import httpx

from tests.support import AUDITOR, STAFF, business_body, eventually, headers_for, headers_of, read_topic, url_for


async def _visits_has(client: httpx.AsyncClient, visits, business_id: str) -> dict | None:
    response = await client.get(url_for(visits, f"/businesses/{business_id}"), headers=STAFF)
    return response.json() if response.status_code == 200 else None


async def test_registration_reaches_visits_as_a_cloudevent(stack):
    intake, visits = await asyncio.gather(stack.start("intake"), stack.start("visits"))
    async with httpx.AsyncClient(timeout=10) as client:
        body = business_body(registration_number="220-81-62517")
        response = await client.post(url_for(intake, "/businesses"), json=body, headers=STAFF)
        assert response.status_code == 201, response.text
        business = response.json()
        assert business["registration_number"] == "2208162517"
        assert business["is_micro_business"] is True
        assert response.headers["location"] == f"/businesses/{business['id']}"

        seen = await eventually(lambda: _visits_has(client, visits, business["id"]), what="the business in visits")
        assert (seen["name"], seen["dong"], seen["stage"]) == ("동대문 바른분식", "제기동", "operating")

    records = await read_topic(stack.bootstrap_servers, "sangsaeng.intake.events")
    assert len(records) == 1
    record = records[0]
    headers = headers_of(record)
    assert record.key.decode() == business["id"] == headers["ce_subject"]
    assert headers["ce_type"] == "sangsaeng.intake.BusinessRegistered.v1"
    assert headers["ce_source"] == "/sangsaeng/intake"
    assert headers["ce_specversion"] == "1.0" and headers["content-type"] == "application/json"
    assert {"ce_id", "ce_time", "ce_correlationid", "traceparent"} <= headers.keys()
    assert response.headers["x-correlation-id"] == headers["ce_correlationid"]


async def test_ready_means_ready_to_deliver_on_a_fresh_stack(stack):
    """/ready answers 200 only once visits' consumer has its partitions: a business registered
    the moment both services are ready reaches visits without waiting for a group join (about
    3 s on a fresh broker; before, /ready said 200 at once and the first one took 3.6 s)."""
    intake, visits = stack.spawn("intake"), stack.spawn("visits")
    answers: list[dict] = []
    async with httpx.AsyncClient(timeout=10) as client:

        async def ready(process) -> bool:
            response = await client.get(url_for(process, "/ready"))
            if process is visits:
                answers.append(response.json())
            return response.status_code == 200

        await eventually(lambda: ready(visits), timeout=60, interval=0.05, what="visits ready")
        await eventually(lambda: ready(intake), timeout=60, interval=0.05, what="intake ready")
        # Database and broker answered before the group had given visits its partitions.
        assert {"status": "not ready", "database": True, "broker": True, "consumers": False} in answers, answers
        response = await client.post(url_for(intake, "/businesses"), json=business_body(), headers=STAFF)
        answered = asyncio.get_running_loop().time()
        assert response.status_code == 201, response.text
        await eventually(lambda: _visits_has(client, visits, response.json()["id"]), interval=0.01, what="the business in visits")
        latency = asyncio.get_running_loop().time() - answered
    assert latency < 1.5, f"registration → visits took {latency:.2f} s on a stack that said it was ready"


async def test_invalid_input_is_refused_with_problem_json_naming_the_field(stack):
    intake = await stack.start("intake")
    async with httpx.AsyncClient(timeout=10) as client:
        cases = {
            "registration_number": business_body(registration_number="220-81-62518"),
            "dong": business_body(dong="역삼동"),
            "employees": business_body(employees=-1),
            "name": business_body(name="사장 800101-1234567"),
        }
        for field, body in cases.items():
            response = await client.post(url_for(intake, "/businesses"), json=body, headers=STAFF)
            assert response.status_code == 422, (field, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["status"] == 422 and field in problem["detail"]
            assert [e["field"] for e in problem["errors"]] == [field]

        first = await client.post(url_for(intake, "/businesses"), json=(body := business_body()), headers=STAFF)
        again = await client.post(url_for(intake, "/businesses"), json={**body, "name": "다른 이름"}, headers=STAFF)
        assert again.status_code == 409 and again.json()["existing_id"] == first.json()["id"]

    conn = await stack.db()
    try:
        assert await conn.fetchval("select count(*) from intake.businesses") == 1
        assert await conn.fetchval("select count(*) from intake.outbox") == 1  # refused commands emit nothing
    finally:
        await conn.close()


async def test_every_api_needs_a_token_and_the_right_role(stack):
    intake, visits = await asyncio.gather(stack.start("intake"), stack.start("visits"))
    async with httpx.AsyncClient(timeout=10) as client:
        missing = await client.post(url_for(intake, "/businesses"), json=business_body())
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        wrong = await client.post(url_for(intake, "/businesses"), json=business_body(), headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        auditor = await client.post(url_for(intake, "/businesses"), json=business_body(), headers=AUDITOR)
        assert auditor.status_code == 403 and auditor.headers["content-type"] == "application/problem+json"
        agency = await client.get(url_for(visits, "/businesses/00000000-0000-0000-0000-000000000000"), headers=headers_for("G-SEMAS"))
        assert agency.status_code == 403
        for process in (intake, visits):
            assert (await client.get(url_for(process, "/health"))).status_code == 200
            assert (await client.get(url_for(process, "/ready"))).json() == {"status": "ready", "database": True, "broker": True,
                                                                               "consumers": True}
            assert "events_published_total" in (await client.get(url_for(process, "/metrics"))).text


async def test_idempotency_key_makes_a_repeated_post_one_registration(stack):
    intake = await stack.start("intake")
    body = business_body()
    headers = {**STAFF, "Idempotency-Key": "register-once"}
    async with httpx.AsyncClient(timeout=10) as client:
        # Sent concurrently: the second waits for the first's transaction and gets its answer.
        responses = await asyncio.gather(*[client.post(url_for(intake, "/businesses"), json=body, headers=headers) for _ in range(5)])
        assert {r.status_code for r in responses} == {201}
        assert len({r.json()["id"] for r in responses}) == 1
        reused = await client.post(url_for(intake, "/businesses"), json={**body, "employees": 3}, headers=headers)
        assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["title"]

    conn = await stack.db()
    try:
        assert await conn.fetchval("select count(*) from intake.businesses") == 1
        assert await conn.fetchval("select count(*) from intake.outbox") == 1
    finally:
        await conn.close()
