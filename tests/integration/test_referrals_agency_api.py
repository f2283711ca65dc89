"""The agency API: one credential per agency, which sees and answers only its own referrals;
acknowledgements and outcomes are idempotent; unanswered referrals become overdue."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import httpx

from sangsaeng_common.contracts.common import AgencyCode, Need
from tests.integration.referrals_helpers import (
    REFERRALS_TOPIC, Producers, as_agency, by_program, event_name, events_on, start_referrals, wait_referrals,
)
from tests.support import AUDITOR, STAFF, assert_refused_by_rule, check_paging, eventually, headers_for, url_for

SCG, SEMAS, KBIZ = AgencyCode.SEOUL_CREDIT_GUARANTEE, AgencyCode.SEMAS, AgencyCode.KBIZ


async def test_agencies_see_and_answer_only_their_own_referrals(stack):
    referrals = await start_referrals(stack, REFERRAL_OVERDUE_DAYS="10")
    async with Producers(stack.bootstrap_servers) as producers, httpx.AsyncClient(timeout=15) as client:
        shop = await producers.business()
        # Given before the referrals' own dates: whichever event arrives first, they are sent on their own day.
        await producers.consent(shop, SCG, SEMAS, given_at=datetime(2025, 4, 30, 10, tzinfo=UTC))
        await producers.guarantee(shop, amount_krw=30_000_000, requested_on=date(2025, 5, 2))
        await producers.visit(shop, Need.closure_support, Need.insurance, visited_on=date(2025, 5, 12))
        found = by_program(await wait_referrals(
            client, referrals, shop,
            lambda rs: len(rs) == 4 and sum(r["state"] == "sent" for r in rs) == 2, "guarantee and closure sent, insurance held"))
        scg, semas, kbiz = found["loan_guarantee"], found["hope_return_package"], found["yellow_umbrella"]
        assert kbiz["state"] == "held"

        def path(referral: dict, action: str = "") -> str:
            return url_for(referrals, f"/referrals/{referral['id']}{action}")

        # Reading: each agency sees only what was sent to it; asking for another agency's list is refused.
        listed = await client.get(url_for(referrals, "/referrals"), headers=as_agency(SCG))
        assert [r["id"] for r in listed.json()] == [scg["id"]]
        assert [r["id"] for r in (await client.get(url_for(referrals, "/referrals"), headers=as_agency(SEMAS))).json()] == [semas["id"]]
        assert (await client.get(url_for(referrals, "/referrals"), headers=as_agency(KBIZ))).json() == []  # held: not sent to KBIZ
        other = await client.get(url_for(referrals, "/referrals"), params={"agency": "SEMAS"}, headers=as_agency(SCG))
        assert other.status_code == 403 and other.headers["content-type"] == "application/problem+json"
        assert (await client.get(url_for(referrals, "/referrals"), params={"agency": "SEOUL_CREDIT_GUARANTEE"},
                                 headers=as_agency(SCG))).status_code == 200
        assert (await client.get(path(scg), headers=as_agency(SCG))).json()["amount_krw"] == 30_000_000
        for agency, referral in ((SEMAS, scg), (SCG, semas), (KBIZ, kbiz)):
            hidden = await client.get(path(referral), headers=as_agency(agency))
            nowhere = await client.get(url_for(referrals, f"/referrals/{uuid.uuid4()}"), headers=as_agency(agency))
            assert hidden.status_code == nowhere.status_code == 404  # indistinguishable from a referral that does not exist
            assert hidden.json()["title"] == nowhere.json()["title"]
        assert len((await client.get(url_for(referrals, "/referrals"), params={"business_id": str(shop)}, headers=AUDITOR)).json()) == 4
        assert (await client.get(url_for(referrals, "/referrals"), headers={"Authorization": "Bearer nope"})).status_code == 401

        # Answering another agency's referral, one never sent (held) or none at all is refused alike, by the
        # rule own_agency_referrals_only (403 naming it; nothing told of other agencies'); staff do not answer for agencies.
        nowhere = {"id": str(uuid.uuid4())}
        details = {
            assert_refused_by_rule(await client.post(path(referral, action), json=body, headers=headers_for(f"G-{agency.value}")),
                                   "own_agency_referrals_only")["detail"]
            for agency, referral, action, body in (
                (SEMAS, scg, "/acknowledge", {"agency_reference": "X"}), (SEMAS, scg, "/outcome", {"outcome": "declined"}),
                (SEMAS, nowhere, "/acknowledge", {"agency_reference": "X"}), (KBIZ, kbiz, "/acknowledge", {"agency_reference": "X"}),
                (SCG, semas, "/outcome", {"outcome": "declined"}),
            )
        }
        assert len(details) == 3 and all("answers only the referrals sent to it" in d for d in details)  # one per agency, alike
        assert (await client.post(path(scg, "/acknowledge"), json={"agency_reference": "X"}, headers=STAFF)).status_code == 403

        # Overdue: sent on 2025-05-02 / 05-12 and unanswered, 10 days allowed.
        overdue = await client.get(url_for(referrals, "/referrals/overdue"), params={"as_of": "2025-05-20"}, headers=STAFF)
        assert [(r["id"], r["days_waiting"], r["waiting_for"]) for r in overdue.json()] == [(scg["id"], 18, "acknowledgement")]
        overdue = await client.get(url_for(referrals, "/referrals/overdue"), params={"as_of": "2025-06-01"}, headers=as_agency(SEMAS))
        assert [r["id"] for r in overdue.json()] == [semas["id"]]
        assert len((await client.get(url_for(referrals, "/referrals/overdue"), headers=STAFF)).json()) == 2  # today: both

        # Acknowledge: the same Idempotency-Key three times at once is one acknowledgement.
        headers = {**as_agency(SCG), "Idempotency-Key": "scg-ack-1"}
        answers = await asyncio.gather(*[
            client.post(path(scg, "/acknowledge"), json={"agency_reference": "SCGF-2025-000123"}, headers=headers) for _ in range(3)
        ])
        assert [a.status_code for a in answers] == [200] * 3 and all(a.json() == answers[0].json() for a in answers)
        assert (answers[0].json()["state"], answers[0].json()["agency_reference"]) == ("acknowledged", "SCGF-2025-000123")
        same = await client.post(path(scg, "/acknowledge"), json={"agency_reference": "SCGF-2025-000123"}, headers=as_agency(SCG))
        assert same.status_code == 200 and same.json()["acknowledged_at"] == answers[0].json()["acknowledged_at"]  # a no-op
        changed = await client.post(path(scg, "/acknowledge"), json={"agency_reference": "SCGF-OTHER"}, headers=as_agency(SCG))
        assert changed.status_code == 409
        overdue = await client.get(url_for(referrals, "/referrals/overdue"), params={"as_of": "2025-06-01"}, headers=as_agency(SCG))
        assert [(r["id"], r["waiting_for"]) for r in overdue.json()] == [(scg["id"], "outcome")]

        # Outcome: validated, idempotent, final.
        missing = await client.post(path(scg, "/outcome"), json={"outcome": "guarantee_issued"}, headers=as_agency(SCG))
        assert missing.status_code == 422 and [e["field"] for e in missing.json()["errors"]] == ["amount_krw"]
        wrong = await client.post(path(semas, "/outcome"), json={"outcome": "guarantee_issued", "amount_krw": 1}, headers=as_agency(SEMAS))
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "outcome"
        pii = await client.post(path(scg, "/outcome"), json={"outcome": "declined", "note": "대표 800101-1234567"}, headers=as_agency(SCG))
        assert pii.status_code == 422 and pii.json()["errors"][0]["field"] == "note"
        body = {"outcome": "guarantee_issued", "amount_krw": 25_000_000, "note": "보증서 발급", "completed_on": "2025-05-22"}
        issued = await client.post(path(scg, "/outcome"), json=body, headers={**as_agency(SCG), "Idempotency-Key": "scg-out-1"})
        assert issued.status_code == 200, issued.text
        assert (issued.json()["state"], issued.json()["outcome"], issued.json()["outcome_amount_krw"]) == ("completed", "guarantee_issued", 25_000_000)
        assert (await client.post(path(scg, "/outcome"), json=body, headers={**as_agency(SCG), "Idempotency-Key": "scg-out-1"})).json() == issued.json()
        assert (await client.post(path(scg, "/outcome"), json=body, headers=as_agency(SCG))).status_code == 200  # same answer: no-op
        declined = await client.post(path(scg, "/outcome"), json={"outcome": "guarantee_declined"}, headers=as_agency(SCG))
        assert declined.status_code == 409
        reused = await client.post(path(scg, "/outcome"), json={"outcome": "guarantee_declined"},
                                   headers={**as_agency(SCG), "Idempotency-Key": "scg-out-1"})
        assert reused.status_code == 422  # a key reused with another body
        # Completing without an acknowledgement is allowed; a late acknowledgement then conflicts.
        assert (await client.post(path(semas, "/outcome"), json={"outcome": "accepted"}, headers=as_agency(SEMAS))).status_code == 200
        late = await client.post(path(semas, "/acknowledge"), json={"agency_reference": "S-1"}, headers=as_agency(SEMAS))
        assert late.status_code == 409
        assert (await client.get(url_for(referrals, "/referrals/overdue"), headers=STAFF)).json() == []

        # One ReferralAcknowledged and two ReferralCompleted reached referrals' topic, whatever the repeats.
        async def answered() -> list | None:
            events = [(event_name(h), d) for h, d in await events_on(stack.bootstrap_servers, REFERRALS_TOPIC)]
            answers = [(n, d) for n, d in events if n in ("ReferralAcknowledged", "ReferralCompleted")]
            return answers if len(answers) >= 3 else None

        answers = await eventually(answered, timeout=60, what="the answers on referrals' topic")
        await asyncio.sleep(1)
        answers = await answered()
        assert sorted(n for n, _ in answers) == ["ReferralAcknowledged", "ReferralCompleted", "ReferralCompleted"]
        completed = next(d for n, d in answers if n == "ReferralCompleted" and d["agency"] == "SEOUL_CREDIT_GUARANTEE")
        assert completed["application_id"] == scg["application_id"] and completed["amount_krw"] == 25_000_000
        assert completed["outcome"] == "guarantee_issued" and completed["completed_on"] == "2025-05-22"
        assert "note" not in completed  # ReferralCompleted.v2: the agency's note stays in referrals
        ack = next(d for n, d in answers if n == "ReferralAcknowledged")
        assert (ack["referral_id"], ack["agency_reference"]) == (scg["id"], "SCGF-2025-000123")
        # Each answer names the agency's user who gave it (ce_actor): what audit's verify checks against the referral's agency.
        actors = {(event_name(h), d["agency"], h.get("ce_actor")) for h, d in await events_on(stack.bootstrap_servers, REFERRALS_TOPIC)
                  if event_name(h) in ("ReferralAcknowledged", "ReferralCompleted")}
        assert actors == {("ReferralAcknowledged", "SEOUL_CREDIT_GUARANTEE", "G-SEOUL_CREDIT_GUARANTEE"),
                          ("ReferralCompleted", "SEOUL_CREDIT_GUARANTEE", "G-SEOUL_CREDIT_GUARANTEE"), ("ReferralCompleted", "SEMAS", "G-SEMAS")}


async def test_an_agency_pages_through_its_referrals_with_a_cursor(stack):
    referrals = await start_referrals(stack)
    async with Producers(stack.bootstrap_servers) as producers, httpx.AsyncClient(timeout=15) as client:
        shops = [await producers.business() for _ in range(5)]
        for shop in shops:
            await producers.consent(shop, SCG, given_at=datetime(2025, 4, 30, 10, tzinfo=UTC))
            await producers.guarantee(shop, amount_krw=20_000_000)

        async def five() -> bool:
            return len((await client.get(url_for(referrals, "/referrals"), headers=as_agency(SCG))).json()) == 5

        await eventually(five, what="five guarantee referrals sent")
        listed = await check_paging(client, url_for(referrals, "/referrals"), params={}, headers=as_agency(SCG), expected=5)
        assert {r["business_id"] for r in listed} == {str(s) for s in shops}
        assert (await client.get(url_for(referrals, "/referrals"), headers=as_agency(SEMAS))).headers.get("next-cursor") is None
