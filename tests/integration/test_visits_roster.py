"""Planners and territories as data through the API (staff): adding a planner, changing a capacity
or a territory, each an event keyed by the planner id with no display name in it; assignment uses
the change at once; no change may leave a dong without an active planner (409 naming the dong)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta

import httpx

from tests.integration.visits_helpers import IntakeEvents, event_type, known_to_visits, visit_events
from tests.support import eventually, headers_for, url_for

STAFF = headers_for("S-1001")


def next_monday_after(days: int) -> date:
    day = date.today() + timedelta(days=days)
    return day + timedelta(days=(7 - day.weekday()) % 7)


async def test_staff_keep_the_roster_and_the_next_assignment_follows_it(stack):
    visits = await stack.start("visits")
    day = next_monday_after(7)
    async with IntakeEvents(stack.bootstrap_servers) as intake, httpx.AsyncClient(timeout=10) as client:
        shops = [await intake.business("제기동", name=f"제기 가게 {i}") for i in range(5)]
        await known_to_visits(client, visits, *shops)
        planners_url = url_for(visits, "/planners")

        async def schedule(shop) -> dict:
            response = await client.post(url_for(visits, "/visits"), json={"business_id": str(shop), "scheduled_for": day.isoformat()},
                                         headers=STAFF)
            assert response.status_code == 201, response.text
            return response.json()

        # The default roster: 제기동 is planner-02's and planner-06's; the first visit goes to the lower id.
        assert (await schedule(shops[0]))["planner_id"] == "planner-02"

        # Bad input names its field; a planner may not change the roster; an id is unique.
        new = {"id": "planner-09", "name": "플래너 09 (신규)", "daily_capacity": 2, "dongs": ["제기동"]}
        for body, field in [({**new, "dongs": ["제기동", "용신동"]}, "dongs.1"), ({**new, "dongs": ["제기동", "제기동"]}, "dongs.1"),
                            ({**new, "dongs": []}, "dongs"), ({**new, "id": "김플래너"}, "id"), ({**new, "daily_capacity": 0}, "daily_capacity"),
                            ({**new, "capacity": 3}, "capacity")]:
            refused = await client.post(planners_url, json=body, headers=STAFF)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["errors"][0]["field"] == field, (body, refused.json())
        assert (await client.post(planners_url, json=new, headers=headers_for("P-2001"))).status_code == 403
        taken = await client.post(planners_url, json={**new, "id": "planner-01"}, headers=STAFF)
        assert taken.status_code == 409 and taken.json()["existing_id"] == "planner-01"

        # A new planner covering 제기동, added twice with one Idempotency-Key: one planner, one event.
        key = {**STAFF, "Idempotency-Key": "add-planner-09"}
        added, again = [await client.post(planners_url, json=new, headers=key) for _ in range(2)]
        assert added.status_code == 201, added.text
        assert again.json() == added.json() and added.headers["location"] == "/planners/planner-09"
        assert added.json() == {"id": "planner-09", "name": "플래너 09 (신규)", "daily_capacity": 2, "active": True, "territory": ["제기동"]}

        # The lightest week now: planner-06 and planner-09 (none booked), the lower id first.
        assert (await schedule(shops[1]))["planner_id"] == "planner-06"
        # Shrink the others to one visit a day: both are full that day, so the next two go to the new planner.
        for pid in ("planner-02", "planner-06"):
            shrunk = await client.patch(url_for(visits, f"/planners/{pid}"), json={"daily_capacity": 1}, headers=STAFF)
            assert shrunk.status_code == 200 and shrunk.json()["daily_capacity"] == 1, shrunk.text
        assert [(v["planner_id"], v["scheduled_for"]) for v in [await schedule(shops[2]), await schedule(shops[3])]] == [
            ("planner-09", day.isoformat())] * 2
        # Everyone covering 제기동 is full that Monday: the next visit moves to Tuesday, to the lightest week there.
        fifth = await schedule(shops[4])
        assert (fifth["planner_id"], fifth["scheduled_for"], fifth["over_capacity"]) == ("planner-02", (day + timedelta(days=1)).isoformat(), False)

        # Every dong keeps an active planner: 신설동 is planner-01's alone.
        for method, path, body in [("PATCH", "/planners/planner-01", {"active": False}),
                                   ("PUT", "/planners/planner-01/territory", {"dongs": ["용두동"]})]:
            refused = await client.request(method, url_for(visits, path), json=body, headers=STAFF)
            assert refused.status_code == 409, refused.text
            problem = refused.json()
            assert (problem["rule"], problem["dongs"]) == ("every_dong_covered", ["신설동"]) and "신설동" in problem["detail"]
        moved = await client.put(url_for(visits, "/planners/planner-09/territory"), json={"dongs": ["신설동", "제기동"]}, headers=STAFF)
        assert moved.status_code == 200 and moved.json()["territory"] == ["신설동", "제기동"], moved.text
        off = await client.patch(url_for(visits, "/planners/planner-01"), json={"active": False}, headers=STAFF)
        assert off.status_code == 200 and off.json()["active"] is False
        back = await client.put(url_for(visits, "/planners/planner-09/territory"), json={"dongs": ["제기동"]}, headers=STAFF)
        assert back.status_code == 409 and back.json()["dongs"] == ["신설동"]
        bad_dong = await client.put(url_for(visits, "/planners/planner-09/territory"), json={"dongs": ["강남동"]}, headers=STAFF)
        assert bad_dong.status_code == 422 and bad_dong.json()["errors"][0]["field"] == "dongs.0"
        assert (await client.patch(url_for(visits, "/planners/planner-99"), json={"active": True}, headers=STAFF)).status_code == 404
        empty = await client.patch(url_for(visits, "/planners/planner-09"), json={}, headers=STAFF)
        assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "daily_capacity"

        # 이문1동 is planner-07's and planner-08's: each drops it at the same moment. The test holds the planners' rows
        # while both requests arrive, so both are in flight together; the roster lock lets one through, then the other
        # sees the first's change and is refused (without it, both would have read the old roster and both succeeded).
        conn = await stack.db()
        try:
            holding = conn.transaction()
            await holding.start()
            await conn.execute("select id from visits.planners order by id for update")
            racing_tasks = [
                asyncio.create_task(client.put(url_for(visits, "/planners/planner-07/territory"), json={"dongs": ["장안2동", "휘경2동"]},
                                               headers=STAFF)),
                asyncio.create_task(client.put(url_for(visits, "/planners/planner-08/territory"), json={"dongs": ["회기동", "이문2동"]},
                                               headers=STAFF)),
            ]

            async def both_waiting() -> bool:
                return await conn.fetchval("select count(*) from pg_locks where not granted and locktype in ('transactionid', 'tuple')") >= 2

            await eventually(both_waiting, timeout=20, what="both territory changes waiting for the planners' rows")
            await holding.rollback()
            racing = await asyncio.gather(*racing_tasks)
        finally:
            await conn.close()
        assert sorted(r.status_code for r in racing) == [200, 409], [r.text for r in racing]
        assert [r.json()["dongs"] for r in racing if r.status_code == 409] == [["이문1동"]]

        listed = {p["id"]: p for p in (await client.get(planners_url, headers=headers_for("P-2001"))).json()}
        assert sum("이문1동" in p["territory"] for p in listed.values() if p["active"]) == 1
        assert len(listed) == 9 and listed["planner-09"]["territory"] == ["신설동", "제기동"]
        assert (listed["planner-01"]["active"], listed["planner-02"]["daily_capacity"]) == (False, 1)
        docs = (await client.get(url_for(visits, "/openapi.json"))).json()["paths"]
        assert "409" in docs["/planners/{planner_id}"]["patch"]["responses"] and "409" in docs["/planners"]["post"]["responses"]
        assert docs["/planners/{planner_id}/territory"]["put"]["x-roles"] == ["staff"]

    events = [(h, d) for h, d in await visit_events(stack.bootstrap_servers) if event_type(h).startswith("Planner")]
    # Keyed by planner id: one planner's events in order (across planners the partitions interleave).
    by_planner: dict[str, list[tuple[str, dict]]] = {}
    for h, d in events:
        assert h["ce_subject"] == d["planner_id"] and h["ce_actor"] == "S-1001"
        by_planner.setdefault(d["planner_id"], []).append((event_type(h), d))
    winner = "planner-07" if [r for r in racing if r.status_code == 200][0].json()["id"] == "planner-07" else "planner-08"
    assert {pid: [name for name, _ in found] for pid, found in by_planner.items()} == {
        "planner-09": ["PlannerAdded", "PlannerTerritoryChanged"], "planner-02": ["PlannerChanged"], "planner-06": ["PlannerChanged"],
        "planner-01": ["PlannerChanged"], winner: ["PlannerTerritoryChanged"]}
    added_event, territory_event = by_planner["planner-09"][0][1], by_planner["planner-09"][1][1]
    assert (added_event["daily_capacity"], added_event["territory"], added_event["active"]) == (2, ["제기동"], True)
    assert "플래너 09" not in json.dumps([d for _, d in events], ensure_ascii=False)  # the display name stays in visits
    shrink = by_planner["planner-02"][0][1]
    assert (shrink["daily_capacity"], shrink["previous_daily_capacity"], shrink["active"], shrink["previous_active"]) == (1, 6, True, True)
    assert (territory_event["added"], territory_event["removed"], territory_event["territory"]) == (["신설동"], [], ["신설동", "제기동"])
    off_event = by_planner["planner-01"][0][1]
    assert (off_event["active"], off_event["previous_active"], off_event["daily_capacity"]) == (False, True, 6)
