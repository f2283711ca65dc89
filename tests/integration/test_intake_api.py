"""Intake's endpoints against the real servers: owners (personal data), consent, support
requests, search and erasure, with the events each one emits."""

from __future__ import annotations

import json
import uuid

import httpx

from tests.support import AUDITOR, STAFF, HeadersOf, business_body, eventually, headers_of, read_topic, url_for

TOPIC = "sangsaeng.intake.events"
PLANNER = HeadersOf("P-2001")
LOAN_OFFICER = HeadersOf("L-3001")
AGENCY = HeadersOf("G-SEMAS")
OWNER = {"name": "김바른", "relation": "owner", "phone": "010-2345-6789", "email": "barun@example.kr"}


async def _register(client: httpx.AsyncClient, intake, **changes) -> dict:
    response = await client.post(url_for(intake, "/businesses"), json=business_body(**changes), headers=STAFF)
    assert response.status_code == 201, response.text
    return response.json()


async def _events(stack, count: int) -> list[tuple[str, dict, bytes]]:
    """(ce_type, data, raw record bytes) of the intake topic, once it holds `count` records."""

    async def enough():
        records = await read_topic(stack.bootstrap_servers, TOPIC)
        return records if len(records) >= count else None

    records = await eventually(enough, what=f"{count} events on {TOPIC}")
    assert len(records) == count, [headers_of(r)["ce_type"] for r in records]
    records.sort(key=lambda r: headers_of(r)["ce_id"])  # UUIDv7: creation order
    return [(headers_of(r)["ce_type"], json.loads(r.value), r.value + b"".join(v for _, v in r.headers)) for r in records]


def _assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    if field is not None:
        assert [e["field"] for e in problem["errors"]] == [field], problem
    return problem


async def test_owners_are_personal_data_seen_by_staff_only_and_never_sent_as_events(stack):
    intake = await stack.start("intake")
    async with httpx.AsyncClient(timeout=15) as client:
        business = await _register(client, intake)
        owners_url = url_for(intake, f"/businesses/{business['id']}/owners")

        added = await client.post(owners_url, json=OWNER, headers=STAFF)
        assert added.status_code == 201, added.text
        owner = added.json()
        assert {k: owner[k] for k in OWNER} == OWNER and owner["business_id"] == business["id"]
        contact = await client.post(owners_url, json={"name": "이매니저", "relation": "manager"}, headers=STAFF)
        assert contact.status_code == 201 and contact.json()["phone"] is None

        listed = await client.get(owners_url, headers=STAFF)
        assert [o["name"] for o in listed.json()] == ["김바른", "이매니저"]

        for headers in (PLANNER, AUDITOR, LOAN_OFFICER, AGENCY):
            _assert_problem(await client.get(owners_url, headers=headers), 403)
            _assert_problem(await client.post(owners_url, json=OWNER, headers=headers), 403)
        _assert_problem(await client.get(url_for(intake, f"/businesses/{business['id']}"), headers=AGENCY), 403)

        for field, value in (("name", "김바른 800101-1234567"), ("phone", "800101-1234567"), ("email", "9912312345678@example.kr")):
            _assert_problem(await client.post(owners_url, json={**OWNER, field: value}, headers=STAFF), 422, field)
        _assert_problem(await client.post(owners_url, json={**OWNER, "phone": "call me"}, headers=STAFF), 422, "phone")
        _assert_problem(await client.post(owners_url, json={**OWNER, "relation": "cousin"}, headers=STAFF), 422, "relation")
        _assert_problem(await client.post(owners_url, json={**OWNER, "birthday": "1980-01-01"}, headers=STAFF), 422, "birthday")
        missing = url_for(intake, "/businesses/00000000-0000-7000-8000-000000000000/owners")
        _assert_problem(await client.post(missing, json=OWNER, headers=STAFF), 404)

    events = await _events(stack, 1)  # owners emit nothing
    assert [t for t, _, _ in events] == ["sangsaeng.intake.BusinessRegistered.v1"]
    conn = await stack.db()
    try:
        assert await conn.fetchval("select count(*) from intake.owners") == 2
    finally:
        await conn.close()


async def test_consent_is_given_with_scope_and_time_and_withdrawn_once(stack):
    intake = await stack.start("intake")
    async with httpx.AsyncClient(timeout=15) as client:
        business = await _register(client, intake)
        other = await _register(client, intake)
        base = f"/businesses/{business['id']}"
        owner = (await client.post(url_for(intake, f"{base}/owners"), json=OWNER, headers=STAFF)).json()
        strangers_owner = (await client.post(url_for(intake, f"/businesses/{other['id']}/owners"), json=OWNER, headers=STAFF)).json()

        body = {
            "agencies": ["SEOUL_CREDIT_GUARANTEE", "SEMAS", "SEOUL_CREDIT_GUARANTEE"],
            "owner_id": owner["id"], "signed_by": "김바른", "given_at": "2025-05-02T10:30:00+09:00", "note": "서면 동의서",
        }
        keyed = {**STAFF, "Idempotency-Key": "consent-1"}
        given = await client.post(url_for(intake, f"{base}/consents"), json=body, headers=keyed)
        assert given.status_code == 201, given.text
        consent = given.json()
        assert consent["agencies"] == ["SEOUL_CREDIT_GUARANTEE", "SEMAS"]
        assert consent["given_at"] == "2025-05-02T01:30:00Z" and consent["active"] is True
        assert (consent["owner_id"], consent["signed_by"], consent["note"]) == (owner["id"], "김바른", "서면 동의서")
        again = await client.post(url_for(intake, f"{base}/consents"), json=body, headers=keyed)
        assert again.status_code == 201 and again.json()["id"] == consent["id"]

        consents_url = url_for(intake, f"{base}/consents")
        _assert_problem(await client.post(consents_url, json={**body, "agencies": []}, headers=STAFF), 422, "agencies")
        _assert_problem(await client.post(consents_url, json={**body, "agencies": ["NTS"]}, headers=STAFF), 422, "agencies.0")
        _assert_problem(await client.post(consents_url, json={**body, "owner_id": strangers_owner["id"]}, headers=STAFF), 422, "owner_id")
        _assert_problem(await client.post(consents_url, json={**body, "given_at": "2025-05-02T10:30:00"}, headers=STAFF), 422, "given_at")
        _assert_problem(await client.post(consents_url, json={**body, "given_at": "2999-01-01T00:00:00+09:00"}, headers=STAFF), 422, "given_at")
        _assert_problem(await client.post(consents_url, json={**body, "note": "주민번호 800101-1234567"}, headers=STAFF), 422, "note")
        _assert_problem(await client.post(consents_url, json=body, headers=PLANNER), 403)

        as_auditor = (await client.get(consents_url, headers=AUDITOR)).json()["items"]
        assert [(c["id"], c["agencies"], c["active"], c["signed_by"], c["owner_id"]) for c in as_auditor] == [
            (consent["id"], ["SEOUL_CREDIT_GUARANTEE", "SEMAS"], True, None, None)
        ]
        assert (await client.get(consents_url, headers=STAFF)).json()["items"][0]["signed_by"] == "김바른"

        withdraw = url_for(intake, f"{base}/consents/{consent['id']}/withdraw")
        _assert_problem(await client.post(withdraw, json={"withdrawn_at": "2025-05-01T00:00:00+09:00"}, headers=STAFF), 422, "withdrawn_at")
        withdrawn = await client.post(withdraw, json={"withdrawn_at": "2025-06-10T14:00:00+09:00", "note": "전화로 철회"}, headers=STAFF)
        assert withdrawn.status_code == 200, withdrawn.text
        assert (withdrawn.json()["active"], withdrawn.json()["withdrawn_at"]) == (False, "2025-06-10T05:00:00Z")
        problem = _assert_problem(await client.post(withdraw, json={}, headers=STAFF), 409)
        assert "already withdrawn" in problem["detail"]
        elsewhere = url_for(intake, f"/businesses/{other['id']}/consents/{consent['id']}/withdraw")
        _assert_problem(await client.post(elsewhere, json={}, headers=STAFF), 404)

    events = await _events(stack, 4)
    assert [t.split(".")[2] for t, _, _ in events] == ["BusinessRegistered", "BusinessRegistered", "ConsentGiven", "ConsentWithdrawn"]
    assert events[2][1] == {
        "consent_id": consent["id"], "business_id": business["id"],
        "agencies": ["SEOUL_CREDIT_GUARANTEE", "SEMAS"], "given_at": "2025-05-02T01:30:00Z",
    }
    assert events[3][1] == {
        "consent_id": consent["id"], "business_id": business["id"],
        "agencies": ["SEOUL_CREDIT_GUARANTEE", "SEMAS"], "withdrawn_at": "2025-06-10T05:00:00Z",
    }
    for _, _, raw in events:
        for personal in ("김바른", "010-2345-6789", "barun@example.kr", "서면 동의서", "전화로 철회"):
            assert personal.encode() not in raw


async def test_support_requests_are_recorded_and_announced_without_their_notes(stack):
    intake = await stack.start("intake")
    async with httpx.AsyncClient(timeout=15) as client:
        business = await _register(client, intake)
        url = url_for(intake, "/support-requests")
        body = {"business_id": business["id"], "needs": ["consulting", "loan", "consulting"], "channel": "walk_in",
                "requested_on": "2025-05-02", "note": "운영자금 상담, 연락은 010-2345-6789"}
        created = await client.post(url, json=body, headers=PLANNER)
        assert created.status_code == 201, created.text
        request = created.json()
        assert created.headers["location"] == f"/support-requests/{request['id']}"
        assert (request["needs"], request["channel"], request["requested_on"], request["note"]) == (
            ["consulting", "loan"], "walk_in", "2025-05-02", body["note"]
        )
        by_phone = await client.post(url, json={"business_id": business["id"], "needs": ["closure_support"], "channel": "phone"}, headers=STAFF)
        assert by_phone.status_code == 201 and by_phone.json()["note"] is None

        cases = [
            ({**body, "needs": []}, "needs"),
            ({**body, "needs": ["money"]}, "needs.0"),
            ({**body, "channel": "fax"}, "channel"),
            ({**body, "visit_id": "0197a0c8-5555-7abc-8def-000000000005"}, "visit_id"),
            ({**body, "requested_on": "2999-01-01"}, "requested_on"),
            ({**body, "business_id": "00000000-0000-7000-8000-000000000000"}, "business_id"),
            ({**body, "note": "대표 800101-1234567"}, "note"),
        ]
        for invalid, field in cases:
            _assert_problem(await client.post(url, json=invalid, headers=STAFF), 422, field)
        for headers in (AUDITOR, LOAN_OFFICER, AGENCY):
            _assert_problem(await client.post(url, json=body, headers=headers), 403)

        listed = (await client.get(url, params={"business_id": business["id"]}, headers=AUDITOR)).json()
        assert [r["id"] for r in listed["items"]] == [by_phone.json()["id"], request["id"]] and listed["next"] is None
        assert all(r["note"] is None for r in listed["items"])  # notes are for staff and planners
        one = await client.get(url_for(intake, f"/support-requests/{request['id']}"), headers=PLANNER)
        assert one.json()["note"] == body["note"]
        page = (await client.get(url, params={"limit": 1}, headers=STAFF)).json()
        rest = (await client.get(url, params={"limit": 1, "cursor": page["next"]}, headers=STAFF)).json()
        assert [r["id"] for r in page["items"] + rest["items"]] == [by_phone.json()["id"], request["id"]] and rest["next"] is None

    events = await _events(stack, 3)
    assert [t.split(".")[2] for t, _, _ in events] == ["BusinessRegistered", "SupportRequested", "SupportRequested"]
    assert events[1][1] == {
        "request_id": request["id"], "business_id": business["id"], "needs": ["consulting", "loan"],
        "channel": "walk_in", "requested_on": "2025-05-02",
    }
    assert all("010-2345-6789".encode() not in raw and "운영자금".encode() not in raw for _, _, raw in events)


async def test_businesses_are_found_by_dong_stage_industry_and_name_page_by_page(stack):
    intake = await stack.start("intake")
    async with httpx.AsyncClient(timeout=15) as client:
        made = [
            await _register(client, intake, name="동대문 바른분식", dong="제기동", industry="음식점업"),
            await _register(client, intake, name="Barun 세탁", dong="제기동", industry="세탁업"),
            await _register(client, intake, name="청량리 바른 약국", dong="청량리동", industry="소매업"),
            await _register(client, intake, name="회기 꽃집", dong="회기동", industry="소매업", stage="prospective", registration_number=None),
            await _register(client, intake, name="100% 과일", dong="회기동", industry="소매업"),
        ]
        closing = await client.post(url_for(intake, f"/businesses/{made[2]['id']}/stage"), json={"stage": "closing"}, headers=STAFF)
        assert closing.status_code == 200
        url = url_for(intake, "/businesses")

        async def names(**params) -> list[str]:
            response = await client.get(url, params=params, headers=AUDITOR)
            assert response.status_code == 200, response.text
            return [b["name"] for b in response.json()["items"]]

        newest_first = [b["name"] for b in reversed(made)]
        assert await names() == newest_first
        assert await names(dong="제기동") == ["Barun 세탁", "동대문 바른분식"]
        assert await names(stage="closing") == ["청량리 바른 약국"]
        assert await names(stage="prospective") == ["회기 꽃집"]
        assert await names(industry="소매업", dong="회기동") == ["100% 과일", "회기 꽃집"]
        assert await names(q="바른 분식") == ["동대문 바른분식"]
        assert await names(q="바른") == ["청량리 바른 약국", "동대문 바른분식"]
        assert await names(q="barun") == ["Barun 세탁"]
        assert await names(q="%") == ["100% 과일"]  # a wildcard is a character, not a wildcard
        assert await names(q="_") == []
        number = made[1]["registration_number"]
        assert await names(registration_number=f"{number[:3]}-{number[3:5]}-{number[5:]}") == ["Barun 세탁"]

        seen, cursor = [], None
        for _ in range(3):
            response = (await client.get(url, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=STAFF)).json()
            seen += [b["name"] for b in response["items"]]
            cursor = response["next"]
        assert seen == newest_first and cursor is None

        _assert_problem(await client.get(url, params={"dong": "역삼동"}, headers=STAFF), 422, "dong")
        _assert_problem(await client.get(url, params={"stage": "bankrupt"}, headers=STAFF), 422, "stage")
        _assert_problem(await client.get(url, params={"cursor": "garbage"}, headers=STAFF), 422, "cursor")
        _assert_problem(await client.get(url, params={"limit": 0}, headers=STAFF), 422, "limit")
        _assert_problem(await client.get(url, params={"q": "800101-1234567"}, headers=STAFF), 422, "q")
        _assert_problem(await client.get(url, params={"registration_number": "220-81-62518"}, headers=STAFF), 422, "registration_number")
        _assert_problem(await client.get(url, headers=AGENCY), 403)
        docs = await client.get(url_for(intake, "/docs"))
        assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_stages_follow_the_lifecycle_and_refusals_name_the_allowed_moves(stack):
    intake = await stack.start("intake")
    async with httpx.AsyncClient(timeout=15) as client:
        founder = await _register(client, intake, registration_number=None, stage="prospective")
        assert (founder["registration_number"], founder["business_kind"], founder["stage"]) == (None, None, "prospective")
        _assert_problem(
            await client.post(url_for(intake, "/businesses"), json=business_body(registration_number=None), headers=STAFF), 422, "registration_number"
        )
        url = url_for(intake, f"/businesses/{founder['id']}/stage")
        problem = _assert_problem(await client.post(url, json={"stage": "closing"}, headers=STAFF), 409)
        assert (problem["current"], problem["allowed"]) == ("prospective", ["operating"])
        moves = [("operating", None), ("closing", "임대료 부담"), ("closed", None), ("restarting", "재도전"), ("operating", None)]
        for stage, reason in moves:
            response = await client.post(url, json={"stage": stage, "reason": reason, "changed_on": "2025-05-12"}, headers=PLANNER)
            assert response.status_code == 200 and response.json()["stage"] == stage, response.text
        problem = _assert_problem(await client.post(url, json={"stage": "restarting"}, headers=STAFF), 409)
        assert (problem["current"], problem["allowed"]) == ("operating", ["closing"]) and "closing" in problem["detail"]
        _assert_problem(await client.post(url, json={"stage": "bankrupt"}, headers=STAFF), 422, "stage")
        _assert_problem(await client.post(url, json={"stage": "closing", "reason": "800101-1234567"}, headers=STAFF), 422, "reason")
        _assert_problem(await client.post(url, json={"stage": "closing"}, headers=AUDITOR), 403)
        missing = url_for(intake, "/businesses/00000000-0000-7000-8000-000000000000/stage")
        _assert_problem(await client.post(missing, json={"stage": "closing"}, headers=STAFF), 404)

    events = await _events(stack, 6)
    changes = [data for ce_type, data, _ in events if ce_type == "sangsaeng.intake.BusinessStageChanged.v2"]
    # v2 carries a code (given words and no code: `other`); the words stay in intake's stage_changes
    assert [(c["from_stage"], c["to_stage"], c["reason_code"]) for c in changes] == [
        ("prospective", "operating", "not_given"), ("operating", "closing", "other"), ("closing", "closed", "not_given"),
        ("closed", "restarting", "other"), ("restarting", "operating", "not_given"),
    ]
    assert not [c for c in changes if "reason" in c]
    conn = await stack.db()
    try:
        kept = [r["reason"] for r in await conn.fetch(
            "select reason from intake.stage_changes where business_id = $1 order by recorded_at", uuid.UUID(founder["id"]))]
    finally:
        await conn.close()
    assert kept == [None, "임대료 부담", None, "재도전", None]
    assert {c["changed_on"] for c in changes} == {"2025-05-12"}
