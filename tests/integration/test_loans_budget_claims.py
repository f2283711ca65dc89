"""A budget claim (loans/budget.py) is committed apart from its screening's batch. When that
batch rolls back (a worker killed, a transient fault) the claim stays behind: the
redelivered screening must use it instead of reserving a second time, and a withdrawal
before that must give it back. The rolled-back screening is set up by hand here: a claim
row and its amount on the round, exactly what such a screening leaves."""

from __future__ import annotations

import httpx

from tests.integration.loans_helpers import Upstream, application_body, known_to_loans, settled, submit
from tests.support import STAFF, eventually, headers_of, read_topic, url_for


async def test_a_claim_left_by_a_rolled_back_screening_is_used_once_or_given_back(stack):
    api = await stack.start("loans", "api")
    stack.spawn("loans", "relay")
    worker = stack.spawn("loans", "consume", name="worker-1")
    conn = await stack.db()
    try:
        async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
            kept, withdrawn = await upstream.business(), await upstream.business()
            await known_to_loans(stack, kept, withdrawn)
            worker.terminate()  # no screening until the claims are in place
            reserved_before = await conn.fetchval("select reserved_krw from loans.fund_rounds where id = '2025-1'")
            first = await submit(client, api, application_body(kept, amount_krw=30_000_000))
            second = await submit(client, api, application_body(withdrawn, amount_krw=20_000_000))
            for application, amount in ((first, 30_000_000), (second, 20_000_000)):
                await conn.execute("insert into loans.budget_claims (application_id, round_id, amount_krw) values ($1, '2025-1', $2)",
                                   application["id"], amount)
                await conn.execute("update loans.fund_rounds set reserved_krw = reserved_krw + $1 where id = '2025-1'", amount)

            gone = await client.post(url_for(api, f"/applications/{second['id']}/withdraw"), json={"reason": "취소"}, headers=STAFF)
            assert gone.status_code == 200, gone.text
            assert await conn.fetchval("select reserved_krw from loans.fund_rounds where id = '2025-1'") == reserved_before + 30_000_000

            stack.spawn("loans", "consume", name="worker-2")
            screened = await settled(client, api, first["id"], "awaiting_decision", timeout=90)
            assert screened["reserved_krw"] == 30_000_000

            async def withdrawn_unscreened() -> bool:
                return await conn.fetchval("select count(*) from loans.inbox where event_type like '%LoanSubmitted%'") == 2

            await eventually(withdrawn_unscreened, timeout=60, what="both LoanSubmitted handled")
        assert await conn.fetchval("select reserved_krw from loans.fund_rounds where id = '2025-1'") == reserved_before + 30_000_000
        assert await conn.fetchval("select count(*) from loans.budget_claims") == 0
        assert await conn.fetchval("select count(*) from loans.screenings where application_id = $1", second["id"]) == 0
    finally:
        await conn.close()


async def test_a_claim_whose_screening_failed_for_good_is_given_back(stack):
    """The screening claims its budget on the side, then fails for good (a failpoint raises
    right after the claim): its LoanSubmitted goes to the DLQ and no redelivery will use the
    claim. The compensating sweep gives it back; the round's budget is whole again."""
    api = await stack.start("loans", "api")
    stack.spawn("loans", "relay")
    stack.spawn("loans", "consume", name="failing-worker", failpoints="loans.screen.after_claim=error",
                LOANS_ORPHANED_CLAIM_AFTER_S="2", LOANS_CLAIM_SWEEP_INTERVAL_S="0.5")
    conn = await stack.db()
    try:
        async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
            shop = await upstream.business()
            await known_to_loans(stack, shop)
            reserved_before = await conn.fetchval("select reserved_krw from loans.fund_rounds where id = '2025-1'")
            application = await submit(client, api, application_body(shop, amount_krw=30_000_000))

            async def dead_lettered():
                records = await read_topic(stack.bootstrap_servers, "sangsaeng.loans.dlq")
                return [r for r in records if headers_of(r).get("ce_subject") == str(shop)]

            (dead,) = await eventually(dead_lettered, timeout=60, what="the LoanSubmitted dead-lettered")
            assert headers_of(dead)["dlq_reason"] == "handler_error" and "failpoint" in headers_of(dead)["dlq_error"]

            async def given_back() -> bool:
                claims = await conn.fetchval("select count(*) from loans.budget_claims")
                reserved = await conn.fetchval("select reserved_krw from loans.fund_rounds where id = '2025-1'")
                return claims == 0 and reserved == reserved_before

            await eventually(given_back, timeout=30, what="the orphaned claim given back")
            row = await conn.fetchrow("select status, reserved_krw from loans.applications where id = $1", application["id"])
            assert (row["status"], row["reserved_krw"]) == ("submitted", 0)  # waits for a redrive, holding nothing
    finally:
        await conn.close()
