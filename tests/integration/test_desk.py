"""The desk against the real broker and PostgreSQL: a support request's life over HTTP (queues,
steps, 409 on a step its status forbids, 422 naming the field), needs taken at the desk acting
like a visit's (referrals under the one 30-day rule, a draft in loans), and a change of a
business's details followed by every directory (and loans screening again)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

import httpx

from sangsaeng_common.contracts.common import AgencyCode, Channel, Need
from sangsaeng_common.contracts.intake import SupportRequested
from tests.integration.loans_helpers import application_body, known_to_loans, loan_events, of_type, settled, submit
from tests.integration.referrals_helpers import Producers, by_program, start_referrals, wait_referrals
from tests.support import AUDITOR, STAFF, business_body, eventually, headers_for, headers_of, read_topic, url_for

INTAKE_TOPIC = "sangsaeng.intake.events"
DESK, COLLEAGUE = headers_for("S-1001"), headers_for("S-1002")
PLANNER = headers_for("P-2001")


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    if field is not None:
        assert [e["field"] for e in problem["errors"]] == [field], problem
    return problem


async def _intake_events(stack, count: int) -> list[tuple[dict[str, str], dict]]:
    async def enough():
        records = await read_topic(stack.bootstrap_servers, INTAKE_TOPIC)
        return records if len(records) >= count else None

    records = await eventually(enough, timeout=60, what=f"{count} events on {INTAKE_TOPIC}")
    records.sort(key=lambda r: headers_of(r)["ce_id"])
    return [(headers_of(r), json.loads(r.value)) for r in records]


async def test_a_support_request_is_assigned_started_and_resolved_with_queues_and_refusals(stack):
    intake = await stack.start("intake")
    async with httpx.AsyncClient(timeout=15) as client:
        business = (await client.post(url_for(intake, "/businesses"), json=business_body(), headers=DESK)).json()

        async def request(*needs: str) -> dict:
            made = await client.post(url_for(intake, "/support-requests"), headers=DESK, json={
                "business_id": business["id"], "needs": list(needs), "channel": "walk_in", "note": "대표 김바른 010-2345-6789"})
            assert made.status_code == 201, made.text
            return made.json()

        loan, insurance, third = await request("loan", "consulting"), await request("insurance"), await request("education")
        assert (loan["status"], loan["assignee"], loan["outcome"]) == ("open", None, None)

        def step(request_id: str, name: str, body: dict | None = None, headers: dict = DESK, **extra: str):
            return client.post(url_for(intake, f"/support-requests/{request_id}/{name}"), json=body or {}, headers={**headers, **extra})

        # A step the status does not allow: 409 naming the current status (and what it allows).
        refused = _problem(await step(loan["id"], "resolve", {"outcome": "advised"}), 409)
        assert (refused["current"], refused["allowed"]) == ("open", ["assign", "close"])
        _problem(await step(loan["id"], "start"), 409)
        # Bad input: 422 naming the field.
        _problem(await step(loan["id"], "assign", {"assignee": "김바른 대리"}), 422, "assignee")
        _problem(await step(loan["id"], "assign", {}), 422, "assignee")
        _problem(await step(loan["id"], "close", {"outcome": "solved"}), 422, "outcome")
        _problem(await step(loan["id"], "assign", {"assignee": "S-1001", "note": "800101-1234567"}), 422, "note")
        _problem(await step(loan["id"], "assign", {"assignee": "S-1001"}, headers=PLANNER), 403)
        _problem(await step(str(uuid.uuid4()), "start"), 404)

        assigned = await step(loan["id"], "assign", {"assignee": "S-1001", "note": "융자 상담 예약"}, **{"Idempotency-Key": "a-1"})
        assert assigned.status_code == 200 and (assigned.json()["status"], assigned.json()["assignee"]) == ("assigned", "S-1001")
        again = await step(loan["id"], "assign", {"assignee": "S-1001", "note": "융자 상담 예약"}, **{"Idempotency-Key": "a-1"})
        assert again.json() == assigned.json()  # the same key: the first answer
        same = await step(loan["id"], "assign", {"assignee": "S-1001"})  # the same person again: no change, no event
        assert same.status_code == 200 and same.json()["updated_at"] == assigned.json()["updated_at"]
        assert (await step(insurance["id"], "assign", {"assignee": "S-1001"})).status_code == 200
        assert (await step(third["id"], "assign", {"assignee": "S-1002"})).status_code == 200
        started = await step(loan["id"], "start", headers=COLLEAGUE)
        assert started.json()["status"] == "in_progress"
        # Reassigned while in progress: back to assigned, the new person starts it.
        moved = await step(insurance["id"], "assign", {"assignee": "S-1002"}, headers=COLLEAGUE)
        assert (moved.json()["status"], moved.json()["assignee"]) == ("assigned", "S-1002")
        resolved = await step(loan["id"], "resolve", {"outcome": "loan_drafted", "note": "신청서 작성 안내"})
        assert (resolved.json()["status"], resolved.json()["outcome"]) == ("resolved", "loan_drafted")
        final = _problem(await step(loan["id"], "close", {"outcome": "duplicate"}), 409)
        assert (final["current"], final["allowed"]) == ("resolved", [])
        closed = await step(third["id"], "close", {"outcome": "unreachable"})
        assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "unreachable")

        # The queues: a person's by status, a need's; paged like every intake list.
        async def queue(**params: str) -> list[str]:
            ids, cursor = [], None
            while True:
                page = await client.get(url_for(intake, "/support-requests"), params={**params, "limit": 1, **({"cursor": cursor} if cursor else {})},
                                        headers=AUDITOR)
                assert page.status_code == 200, page.text
                ids += [r["id"] for r in page.json()["items"]]
                if (cursor := page.json()["next"]) is None:
                    return ids

        assert await queue(assignee="S-1001") == [loan["id"]]
        assert await queue(assignee="S-1002") == [third["id"], insurance["id"]]  # newest first
        assert await queue(assignee="S-1002", status="assigned") == [insurance["id"]]
        assert await queue(need="loan") == [loan["id"]] and await queue(need="insurance") == [insurance["id"]]
        assert await queue(status="resolved") == [loan["id"]] and await queue(need="guarantee") == []
        _problem(await client.get(url_for(intake, "/support-requests"), params={"status": "done"}, headers=AUDITOR), 422, "status")
        _problem(await client.get(url_for(intake, "/support-requests"), params={"need": "money"}, headers=AUDITOR), 422, "need")

        steps = (await client.get(url_for(intake, f"/support-requests/{loan['id']}/steps"), headers=DESK)).json()
        assert [(s["step"], s["status"], s["actor"]) for s in steps] == [
            ("assign", "assigned", "S-1001"), ("start", "in_progress", "S-1002"), ("resolve", "resolved", "S-1001")]
        assert steps[0]["note"] == "융자 상담 예약"
        audited = (await client.get(url_for(intake, f"/support-requests/{loan['id']}/steps"), headers=AUDITOR)).json()
        assert all(s["note"] is None for s in audited)  # the words are for staff and planners

        # Events: one per step, ids and codes only, with the actor; never a note.
        events = await _intake_events(stack, 1 + 3 + 7)
        steps_seen = [(h["ce_type"].split(".")[2], d, h.get("ce_actor")) for h, d in events if ".SupportRequest" in h["ce_type"]
                      and "SupportRequested" not in h["ce_type"]]
        assert [(name, d["request_id"]) for name, d, _ in steps_seen] == [
            ("SupportRequestAssigned", loan["id"]), ("SupportRequestAssigned", insurance["id"]), ("SupportRequestAssigned", third["id"]),
            ("SupportRequestStarted", loan["id"]), ("SupportRequestAssigned", insurance["id"]), ("SupportRequestResolved", loan["id"]),
            ("SupportRequestClosed", third["id"])]
        assert steps_seen[4][1]["previous_assignee"] == "S-1001" and steps_seen[4][2] == "S-1002"
        assert steps_seen[5][1]["outcome"] == "loan_drafted" and steps_seen[6][1]["outcome"] == "unreachable"
        raw = b"".join(json.dumps(d, ensure_ascii=False).encode() for _, d in events)
        assert "융자 상담 예약".encode() not in raw and "김바른".encode() not in raw

        # The timeline shows the steps; an erasure blanks the steps' notes.
        async def timeline_has_steps():
            items = (await client.get(url_for(intake, f"/businesses/{business['id']}/timeline"), headers=AUDITOR)).json()["items"]
            summaries = [i["summary"] for i in items]
            return summaries if "지원 요청 완료: 융자 신청서 작성" in summaries else None

        summaries = await eventually(timeline_has_steps, timeout=60, what="the steps on the timeline")
        assert "지원 요청 담당 변경: S-1001 → S-1002" in summaries and "지원 요청 종결: 연락 두절" in summaries
        erased = await client.post(url_for(intake, f"/businesses/{business['id']}/erasure"), json={}, headers=DESK)
        assert erased.status_code == 200 and erased.json()["support_notes_blanked"] == 3 + 2  # three requests' notes, two steps' notes
        steps = (await client.get(url_for(intake, f"/support-requests/{loan['id']}/steps"), headers=DESK)).json()
        assert all(s["note"] is None for s in steps)


class Desk(Producers):
    """Intake's SupportRequested, as its relay publishes it."""

    async def support_request(self, business_id: uuid.UUID, *needs: Need, requested_on: date) -> tuple[uuid.UUID, uuid.UUID]:
        request_id = uuid.uuid4()
        envelope = await self.publish(SupportRequested(request_id=request_id, business_id=business_id, needs=list(needs),
                                                       channel=Channel.walk_in, requested_on=requested_on))
        return request_id, envelope.id


async def test_needs_from_the_desk_refer_and_draft_like_a_visits_under_the_same_rules(stack):
    referrals, loans = await asyncio.gather(start_referrals(stack), stack.start("loans"))
    async with Desk(stack.bootstrap_servers) as desk, httpx.AsyncClient(timeout=30) as client:
        shop, loan_shop, guarantee_shop = await desk.business(), await desk.business(), await desk.business()
        await known_to_loans(stack, shop, loan_shop, guarantee_shop)
        request_id, cause = await desk.support_request(shop, Need.insurance, Need.consulting, requested_on=date(2025, 5, 12))
        found = by_program(await wait_referrals(client, referrals, shop, lambda rs: len(rs) == 2, "KBIZ and employment insurance"))
        assert {(r["agency"], r["program"]) for r in found.values()} == {
            (AgencyCode.KBIZ, "yellow_umbrella"), (AgencyCode.EMPLOYMENT_INSURANCE, "self_employed_insurance")}
        for referral in found.values():  # the source is recorded and visible
            assert (referral["origin"], referral["reason"], referral["cause_event_id"], referral["referred_on"]) == (
                "support_request", "support_request:insurance", str(cause), "2025-05-12")

        # A second request within 30 days refers nothing; nor does a visit's need the desk referred already.
        await desk.support_request(shop, Need.insurance, requested_on=date(2025, 6, 1))
        await desk.visit(shop, Need.insurance, visited_on=date(2025, 6, 5))
        # Education the same day goes through (another program): the marker that the two before were handled.
        await desk.support_request(shop, Need.education, requested_on=date(2025, 6, 5))
        after = await wait_referrals(client, referrals, shop, lambda rs: len(rs) >= 3, "SEMAS education")
        assert sorted(r["program"] for r in after) == ["education", "self_employed_insurance", "yellow_umbrella"]
        # Past 30 days the desk refers again.
        await desk.support_request(shop, Need.insurance, requested_on=date(2025, 6, 11))
        later = await wait_referrals(client, referrals, shop, lambda rs: len(rs) == 5, "insurance referred again after 30 days")
        assert sorted(r["referred_on"] for r in later if r["program"] == "yellow_umbrella") == ["2025-05-12", "2025-06-11"]

        # A loan need makes a draft in loans; a guarantee need takes the guarantee path (a bank-cooperation draft).
        loan_request, _ = await desk.support_request(loan_shop, Need.loan, requested_on=date(2025, 5, 12))
        guarantee_request, _ = await desk.support_request(guarantee_shop, Need.guarantee, requested_on=date(2025, 5, 12))

        async def drafts(business: uuid.UUID) -> list[dict]:
            return (await client.get(url_for(loans, "/applications"), params={"business_id": str(business)}, headers=STAFF)).json()

        (draft,) = await eventually(lambda: drafts(loan_shop), timeout=60, what="the desk's draft")
        assert (draft["status"], draft["origin"], draft["support_request_id"], draft["visit_id"], draft["program"]) == (
            "draft", "support_request", str(loan_request), None, None)
        (guarantee_draft,) = await eventually(lambda: drafts(guarantee_shop), timeout=60, what="the guarantee draft")
        assert (guarantee_draft["origin"], guarantee_draft["support_request_id"], guarantee_draft["program"]) == (
            "support_request", str(guarantee_request), "bank_cooperation")
        # One open draft per business, whatever found the need: a visit's loan need adds none.
        await desk.visit(loan_shop, Need.loan)
        await desk.support_request(loan_shop, Need.loan, requested_on=date(2025, 5, 13))
        await desk.support_request(shop, Need.education, Need.insurance, requested_on=date(2025, 6, 12))  # no loan need: no draft
        await asyncio.sleep(2)
        assert len(await drafts(loan_shop)) == 1 and await drafts(shop) == []
        body = {k: v for k, v in application_body(guarantee_shop, program="bank_cooperation").items() if k != "business_id"}
        submitted = await client.post(url_for(loans, f"/applications/{guarantee_draft['id']}/submit"), json=body, headers=STAFF)
        assert submitted.status_code == 200, submitted.text
        await settled(client, loans, guarantee_draft["id"], "awaiting_guarantee")
        (scg,) = await wait_referrals(client, referrals, guarantee_shop, lambda rs: len(rs) == 1, "the guarantee referral")
        assert (scg["agency"], scg["program"], scg["application_id"]) == (AgencyCode.SEOUL_CREDIT_GUARANTEE, "loan_guarantee",
                                                                          guarantee_draft["id"])

    events = await loan_events(stack.bootstrap_servers)
    created = {d["application_id"]: d for d in of_type(events, "LoanDraftCreated")}
    assert created[draft["id"]]["support_request_id"] == str(loan_request) and created[draft["id"]]["visit_id"] is None
    assert created[guarantee_draft["id"]]["program"] == "bank_cooperation"
    assert len(created) == 2


async def test_a_change_of_details_reaches_every_directory_and_screens_undecided_applications_again(stack):
    intake, visits, referrals, loans = await asyncio.gather(
        stack.start("intake"), stack.start("visits"), start_referrals(stack), stack.start("loans"))
    async with httpx.AsyncClient(timeout=30) as client:
        registered = await client.post(url_for(intake, "/businesses"), headers=DESK,
                                       json=business_body(address="서울 동대문구 제기로 1", employees=3))
        business = registered.json()
        bid = business["id"]
        await known_to_loans(stack, uuid.UUID(bid))
        fund = await submit(client, loans, application_body(uuid.UUID(bid)))
        await settled(client, loans, fund["id"], "awaiting_decision")

        shown = await client.get(url_for(intake, f"/businesses/{bid}"), headers=DESK)
        assert shown.headers["etag"] == '"1"'
        url = url_for(intake, f"/businesses/{bid}")
        # Validated like registration: 422 naming the field; staff only.
        _problem(await client.patch(url, json={"dong": "역삼동"}, headers=DESK), 422, "dong")
        _problem(await client.patch(url, json={"dong": "용신동"}, headers=DESK), 422, "dong")  # split on 2025-07-01
        _problem(await client.patch(url, json={"employees": -1}, headers=DESK), 422, "employees")
        _problem(await client.patch(url, json={"name": None}, headers=DESK), 422, "name")
        _problem(await client.patch(url, json={"owner": "김바른"}, headers=DESK), 422, "owner")
        _problem(await client.patch(url, json={"dong": "회기동"}, headers=PLANNER), 403)

        patch = {"dong": "회기동", "employees": 6, "address": "서울 동대문구 회기로 2"}
        changed = await client.patch(url, headers={**DESK, "Content-Type": "application/merge-patch+json", "If-Match": '"1"',
                                                   "Idempotency-Key": "move-1"}, content=json.dumps(patch, ensure_ascii=False))
        assert changed.status_code == 200, changed.text
        assert (changed.json()["dong"], changed.json()["employees"], changed.json()["is_micro_business"]) == ("회기동", 6, False)
        assert changed.json()["address"] == "서울 동대문구 회기로 2" and changed.headers["etag"] == '"2"'
        repeated = await client.patch(url, headers={**DESK, "If-Match": '"1"', "Idempotency-Key": "move-1"}, json=patch)
        assert repeated.json() == changed.json()  # the same key: the first answer, not a 412
        stale = await client.patch(url, headers={**DESK, "If-Match": '"1"'}, json={"industry": "분식업"})
        assert stale.status_code == 412 and stale.headers["etag"] == '"2"'
        unchanged = await client.patch(url, headers=DESK, json={"dong": "회기동"})  # nothing changes: no event
        assert unchanged.status_code == 200 and unchanged.headers["etag"] == '"2"'
        removed = await client.patch(url, headers=DESK, json={"address": None})
        assert removed.json()["address"] is None and removed.headers["etag"] == '"3"'

        # Every directory follows.
        async def visits_dong():
            seen = await client.get(url_for(visits, f"/businesses/{bid}"), headers=STAFF)
            return seen.json() if seen.status_code == 200 and seen.json()["dong"] == "회기동" else None

        in_visits = await eventually(visits_dong, timeout=60, what="visits' directory to show 회기동")
        assert (in_visits["employees"], in_visits["is_micro_business"], in_visits["name"]) == (6, False, "동대문 바른분식")
        conn = await stack.db()
        try:
            async def copies():
                rows = [await conn.fetchrow(f"select dong from {schema}.businesses where id = $1", uuid.UUID(bid))
                        for schema in ("referrals", "loans")]
                return rows if all(r is not None and r["dong"] == "회기동" for r in rows) else None

            await eventually(copies, timeout=60, what="referrals' and loans' directories to show 회기동")
            loans_row = await conn.fetchrow("select employees, is_micro_business from loans.businesses where id = $1", uuid.UUID(bid))
            assert (loans_row["employees"], loans_row["is_micro_business"]) == (6, False)
            counts = dict(await conn.fetch("select dong, businesses from visits.dong_business_counts"))
            assert (counts.get("제기동"), counts.get("회기동")) == (0, 1)
            # Screened again on the new facts: an SME may borrow more, so it stays where it was.
            again = await eventually(lambda: conn.fetch("select * from loans.rescreenings where application_id = $1", uuid.UUID(fund["id"])),
                                     timeout=60, what="the application screened again")
            assert [(r["eligible"], r["status_before"], r["status_after"]) for r in again] == [(True, "awaiting_decision", "awaiting_decision")]
        finally:
            await conn.close()

        assert (await settled(client, loans, fund["id"], "awaiting_decision"))["eligible"] is True
        # Now an industry the fund excludes: screened again, rejected naming the rule.
        excluded = await client.patch(url, headers=DESK, json={"industry": "부동산 임대업"})
        assert excluded.status_code == 200
        rejected = await settled(client, loans, fund["id"], "rejected")
        assert [f["rule"] for f in rejected["failed_rules"]] == ["excluded_industry"]

        async def timeline():
            items = (await client.get(url_for(intake, f"/businesses/{bid}/timeline"), headers=AUDITOR)).json()["items"]
            return items if sum(i["type"].endswith("BusinessDetailsChanged.v1") for i in items) == 3 else None

        items = await eventually(timeline, timeout=60, what="the changes on the timeline")
        summaries = [i["summary"] for i in items if i["type"].endswith("BusinessDetailsChanged.v1")]
        assert summaries[-1] == "사업체 정보 변경: 행정동 회기동, 상시근로자 6, 주소, 소상공인 아님"

    events = [(h, d) for h, d in await _intake_events(stack, 4) if h["ce_type"].endswith("BusinessDetailsChanged.v1")]
    assert [d["changed"] for _, d in events] == [["dong", "employees", "address"], ["address"], ["industry"]]
    first = events[0][1]
    assert (first["dong"], first["employees"], first["is_micro_business"], events[0][0]["ce_actor"]) == ("회기동", 6, False, "S-1001")
    assert "address" not in first or first["address"] is None
    assert not any("회기로" in json.dumps(d, ensure_ascii=False) for _, d in events)  # the address never travels
    loans_events = await loan_events(stack.bootstrap_servers)
    screened = of_type(loans_events, "LoanScreened", fund["id"])
    assert [s["eligible"] for s in screened] == [True, False]
    (rejection,) = of_type(loans_events, "LoanRejected", fund["id"])
    assert rejection["reason_codes"] == ["excluded_industry"]
