"""Districts end to end, against the real broker and PostgreSQL: a district proposed with
its boundary, member stores registered in intake joining it (counted only inside the
boundary and operating), designation under Dongdaemun's ordinance (refusals name each
failed rule), a member's closure in intake putting a designated district under review, a
contest round (entry refused after the deadline or when ineligible, a result within the
budget), revocation; every event on sangsaeng.districts.events keyed by the district, the
representative in none of them, and the member's timeline in intake showing its district."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from pyproj import Geod

from tests.support import AUDITOR, STAFF, HeadersOf, business_body, eventually, headers_of, read_topic, url_for

PLANNER = HeadersOf("P-2001")
GEOD = Geod(ellps="WGS84")
ORIGIN = (127.0400, 37.5800)
TOPIC = "sangsaeng.districts.events"


def offset(point: tuple[float, float], east_m: float, north_m: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(point[0], point[1], 90, east_m)
    lon, lat, _ = GEOD.fwd(lon, lat, 0, north_m)
    return lon, lat


def block(east_m: float, north_m: float) -> dict[str, Any]:
    corners = [ORIGIN, offset(ORIGIN, east_m, 0), offset(ORIGIN, east_m, north_m), offset(ORIGIN, 0, north_m), ORIGIN]
    return {"type": "Polygon", "coordinates": [[list(c) for c in corners]]}


def district_body(**changes: Any) -> dict[str, Any]:
    return {"name": "제기동 약령골목", "dongs": ["제기동"], "association": "약령골목 상인회",
            "representative": {"name": "김대표", "phone": "010-9876-5432"},
            "boundary": block(60, 50), "excluded_area_m2": 1010, "proposed_on": "2025-07-01", **changes}


async def _post(client: httpx.AsyncClient, service, path: str, body: dict, key: str | None = None) -> httpx.Response:
    headers = {**STAFF, **({"Idempotency-Key": key} if key else {})}
    return await client.post(url_for(service, path), headers=headers, json=body)


async def _events(stack) -> list[tuple[str, str, dict]]:
    records = await read_topic(stack.bootstrap_servers, TOPIC)
    return [(headers_of(r)["ce_type"].split(".")[2], r.key.decode(), json.loads(r.value)) for r in records]


async def test_a_district_from_proposal_to_revocation(stack):
    intake, districts, audit = await asyncio.gather(stack.start("intake"), stack.start("districts"), stack.start("audit"))
    async with httpx.AsyncClient(timeout=20) as client:
        # Bad input names the field.
        bad = await _post(client, districts, "/districts", district_body(boundary={"type": "Point", "coordinates": [127.04, 37.58]}))
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in bad.json()["errors"]] == ["boundary"]
        unauthenticated = await client.post(url_for(districts, "/districts"), json=district_body())
        assert unauthenticated.status_code == 401
        planner = await client.post(url_for(districts, "/districts"), headers=PLANNER, json=district_body())
        assert planner.status_code == 403

        proposed = await _post(client, districts, "/districts", district_body(), key="jegi")
        assert proposed.status_code == 201, proposed.text
        district = proposed.json()
        assert abs(district["polygon_area_m2"] - 3000) < 1 and abs(district["counted_area_m2"] - 1990) < 1
        assert district["state"] == "proposed" and district["representative"]["name"] == "김대표"
        assert [(r["rule"], r["required_stores"]) for r in district["rules"]] == [("dongdaemun_ordinance", 15), ("national_act", 30)]
        again = await _post(client, districts, "/districts", district_body(), key="jegi")
        assert (again.status_code, again.json()["id"]) == (201, district["id"])
        did = district["id"]

        # 16 shops inside the boundary and one across the road, all registered in intake.
        shops = []
        for i in range(17):
            registered = await client.post(url_for(intake, "/businesses"), headers=STAFF, json=business_body(name=f"약령골목 점포 {i}"))
            assert registered.status_code == 201, registered.text
            shops.append(registered.json()["id"])
        points = [offset(ORIGIN, 5 + 3 * i, 10 + (i % 3) * 10) for i in range(16)] + [offset(ORIGIN, -8, 20)]
        for i, (shop, (lon, lat)) in enumerate(zip(shops, points)):
            body = {"business_id": shop, "longitude": lon, "latitude": lat, "onnuri_merchant": i % 2 == 0, "joined_on": "2025-07-10"}

            async def join(body=body) -> dict | None:
                joined = await _post(client, districts, f"/districts/{did}/stores", body)
                if joined.status_code == 503:  # intake's event has not arrived yet: retry
                    return None
                assert joined.status_code == 201, joined.text
                return joined.json()

            member = await eventually(join, timeout=60, what="the store joins")
            assert member["inside_boundary"] is (i < 16)
        outside = shops[16]

        # Designation is refused while proposed, naming the state rule; then reviewed and designated.
        early = await _post(client, districts, f"/districts/{did}/designate", {"on": "2025-07-20"})
        assert early.status_code == 409 and [r["rule"] for r in early.json()["failed_rules"]] == ["state"]
        reviewed = await _post(client, districts, f"/districts/{did}/review", {"on": "2025-07-20"})
        assert reviewed.status_code == 200 and reviewed.json()["state"] == "under_review"
        designated = await _post(client, districts, f"/districts/{did}/designate", {"on": "2025-08-01"}, key="designate")
        assert designated.status_code == 200, designated.text
        assert (designated.json()["state"], designated.json()["counted_stores"], designated.json()["members"]) == ("designated", 16, 17)
        assert designated.json()["onnuri_merchants"] == 9
        stores = (await client.get(url_for(districts, f"/districts/{did}/stores"), headers=PLANNER)).json()
        assert {s["business_id"] for s in stores if not s["counts"]} == {outside}

        # A contest round: a designated-only call; a late entry refused by its deadline.
        call = await _post(client, districts, "/contests", {"organiser": "서울특별시", "title": "골목상권 활성화 공모",
                                                            "eligibility": "designated_only", "budget_krw": 100_000_000,
                                                            "opens_on": "2025-08-01", "deadline": "2025-09-15"})
        assert call.status_code == 201, call.text
        cid = call.json()["id"]
        late = await _post(client, districts, f"/contests/{cid}/entries", {"district_id": did, "entered_on": "2025-09-16"})
        assert late.status_code == 409 and [r["rule"] for r in late.json()["failed_rules"]] == ["deadline"]
        entry = await _post(client, districts, f"/contests/{cid}/entries", {"district_id": did, "requested_krw": 80_000_000, "entered_on": "2025-09-01"})
        assert entry.status_code == 201, entry.text
        eid = entry.json()["id"]
        over = await _post(client, districts, f"/contests/{cid}/entries/{eid}/result", {"selected": True, "awarded_krw": 150_000_000})
        assert over.status_code == 409 and [r["rule"] for r in over.json()["failed_rules"]] == ["budget"]
        awarded = await _post(client, districts, f"/contests/{cid}/entries/{eid}/result",
                              {"selected": True, "awarded_krw": 70_000_000, "announced_on": "2025-10-01"})
        assert awarded.status_code == 200 and awarded.json()["awarded_krw"] == 70_000_000

        # Members close in intake: at 15 the district still meets the rule; at 14 it goes under review.
        # The second closure waits for the first to be counted: the two businesses' events travel on
        # different partitions, so without the wait either closure could be the one that tips it.
        async def close(shop: str) -> None:
            closing = await client.post(url_for(intake, f"/businesses/{shop}/stage"), headers=STAFF,
                                        json={"stage": "closing", "changed_on": "2025-10-10"})
            assert closing.status_code == 200, closing.text

        await close(shops[0])

        async def still_designated_at_15() -> dict | None:
            found = (await client.get(url_for(districts, f"/districts/{did}"), headers=STAFF)).json()
            return found if found["counted_stores"] == 15 else None

        at_15 = await eventually(still_designated_at_15, timeout=60, what="the first closure counted")
        assert at_15["state"] == "designated"
        await close(shops[1])

        async def under_review() -> dict | None:
            found = (await client.get(url_for(districts, f"/districts/{did}"), headers=STAFF)).json()
            return found if found["state"] == "under_review" and found["counted_stores"] == 14 else None

        reviewed = await eventually(under_review, timeout=60, what="the district under review after the second closure")
        assert reviewed["review_reason"] == "below_rule"
        refused = await _post(client, districts, f"/districts/{did}/designate", {"on": "2025-10-20"})
        assert refused.status_code == 409
        assert [r["rule"] for r in refused.json()["failed_rules"]] == ["dongdaemun_ordinance"]
        assert "14 operating stores" in refused.json()["failed_rules"][0]["message"] and refused.json()["required_stores"] == 15

        # Ineligible now: the call is for designated districts only.
        call2 = await _post(client, districts, "/contests", {"organiser": "SEMAS", "title": "상권 르네상스", "eligibility": "designated_only",
                                                             "budget_krw": 50_000_000, "opens_on": "2025-10-01", "deadline": "2025-12-31"})
        ineligible = await _post(client, districts, f"/contests/{call2.json()['id']}/entries", {"district_id": did, "entered_on": "2025-10-21"})
        assert ineligible.status_code == 409 and [r["rule"] for r in ineligible.json()["failed_rules"]] == ["eligibility"]

        left = await _post(client, districts, f"/districts/{did}/stores/{outside}/leave", {"reason": "이전", "left_on": "2025-10-22"})
        assert left.status_code == 200 and left.json()["left_on"] == "2025-10-22"
        revoked = await _post(client, districts, f"/districts/{did}/revoke", {"reasons": ["점포 수 기준 미달"], "on": "2025-11-01"})
        assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
        assert (await _post(client, districts, f"/districts/{did}/revoke", {"reasons": ["again"]})).status_code == 409

        # Planners do not see the representative.
        seen = (await client.get(url_for(districts, f"/districts/{did}"), headers=PLANNER)).json()
        assert seen["representative"] is None

        # The member's timeline in intake shows its district.
        async def timeline_has_district() -> list[str]:
            page = (await client.get(url_for(intake, f"/businesses/{shops[0]}/timeline"), headers=STAFF)).json()
            return [item["summary"] for item in page["items"] if item["source"] == "/sangsaeng/districts"]

        summaries = await eventually(timeline_has_district, timeout=60, what="the district on the member's timeline")
        assert summaries == ["골목형상점가 회원 점포 가입 (구역 안, 온누리상품권 가맹)"]

        async def review_on_timeline() -> list[str]:  # the member whose closure put its district under review
            page = (await client.get(url_for(intake, f"/businesses/{shops[1]}/timeline"), headers=STAFF)).json()
            return [item["summary"] for item in page["items"] if item["source"] == "/sangsaeng/districts" and "재심사" in item["summary"]]

        assert await eventually(review_on_timeline, timeout=60, what="the review on the closed member's timeline") == [
            "골목형상점가 재심사: 영업 점포 14개 (기준 15개)"]

    events = await eventually(lambda: _wait_events(stack, 24), timeout=60, what="the districts' events")
    names = [name for name, _, _ in events]
    assert names.count("StoreJoinedDistrict") == 17 and names.count("StoreLeftDistrict") == 1
    assert [n for n in names if n not in ("StoreJoinedDistrict", "StoreLeftDistrict")] == [
        "DistrictProposed", "DistrictReviewOpened", "DistrictDesignated", "ContestEntered", "ContestResultAnnounced",
        "DistrictReviewOpened", "DistrictRevoked",
    ]
    assert {key for _, key, _ in events} == {did}  # keyed by the district
    by_name = {name: data for name, _, data in events}
    assert by_name["DistrictDesignated"]["counted_stores"] == 16 and len(by_name["DistrictDesignated"]["counted_business_ids"]) == 16
    assert by_name["DistrictDesignated"]["rule"] == "dongdaemun_ordinance"
    below = [data for name, _, data in events if name == "DistrictReviewOpened"][-1]
    assert (below["reason"], below["counted_stores"], below["required_stores"], below["business_id"]) == ("below_rule", 14, 15, shops[1])
    raw = b"".join(r.value for r in await read_topic(stack.bootstrap_servers, TOPIC))
    assert "김대표".encode() not in raw and b"010-9876-5432" not in raw  # the representative stays in districts

    # Audit learnt it all by events: verify finds the designation within the rule, the report counts the contest.
    async with httpx.AsyncClient(timeout=30) as client:
        conn = await stack.db()
        try:
            total = await conn.fetchval("select (select count(*) from intake.outbox) + (select count(*) from districts.outbox)")
        finally:
            await conn.close()

        async def verified():
            result = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
            return result if result["rules"]["events_checked"] == total else None

        result = await eventually(verified, timeout=60, what="every event in the ledger")
        assert result["ok"] is True and result["rules"]["findings"] == []
        section = (await client.get(url_for(audit, "/reports/2025"), headers=AUDITOR)).json()["districts"]
        assert (section["designated"], section["contest_entries"], section["contest_awards"], section["awarded_krw"]) == (0, 1, 1, 70_000_000)


async def _wait_events(stack, count: int) -> list[tuple[str, str, dict]] | None:
    events = await _events(stack)
    return events if len(events) >= count else None
