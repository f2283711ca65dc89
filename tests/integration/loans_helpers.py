"""What the loans tests share: intake's, visits' and referrals' events published straight to
their topics (a contract test of what loans consumes), and small readers of loans' state."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import httpx

from sangsaeng_common.contracts import newest
from sangsaeng_common.contracts.common import AgencyCode, Need
from sangsaeng_common.contracts.intake import BusinessRegistered, Stage
from sangsaeng_common.contracts.referrals import ReferralCompleted, ReferralOutcome
from sangsaeng_common.contracts.visits import VisitOutcome, VisitRecorded
from sangsaeng_common.envelope import Envelope
from tests.support import STAFF, HeadersOf, Publisher, eventually, headers_of, read_topic, url_for

# The loan officer who decides; applications are submitted by staff (or by the other officer,
# L-3001, who may then not decide them: segregation of duties).
OFFICER = HeadersOf("L-3002")
LOANS_TOPIC = "sangsaeng.loans.events"
FUND_DOCS = ["application_form", "fund_use_plan", "sme_confirmation"]


class Upstream(Publisher):
    """Publishes valid CloudEvents as intake, visits and referrals would."""

    async def business(self, *, dong: str = "제기동", industry: str = "음식점업", micro: bool = True, stage: Stage = Stage.operating,
                       registered_on: date | None = date(2023, 3, 2), wait: bool = True) -> uuid.UUID:
        business_id = uuid.uuid4()
        await self.publish(
            BusinessRegistered(business_id=business_id, registration_number=None, name="동대문 가게", dong=dong, industry=industry,
                               employees=2 if micro else 12, is_micro_business=micro, stage=stage, registered_on=registered_on),
            wait=wait,
        )
        return business_id

    async def visit(self, business_id: uuid.UUID, *needs: Need, visit_id: uuid.UUID | None = None, actor: str = "P-2002") -> uuid.UUID:
        visit_id = visit_id or uuid.uuid4()
        await self.publish(
            VisitRecorded(visit_id=visit_id, business_id=business_id, planner_id="planner-02", dong="제기동", visited_on=date(2025, 5, 12),
                          outcome=VisitOutcome.met, needs_identified=list(needs)),
            actor=actor,
        )
        return visit_id

    async def guarantee(self, application: dict, outcome: ReferralOutcome, amount_krw: int | None = None) -> Envelope:
        return await self.publish(
            ReferralCompleted(referral_id=uuid.uuid4(), business_id=uuid.UUID(application["business_id"]),
                              agency=AgencyCode.SEOUL_CREDIT_GUARANTEE, outcome=outcome, amount_krw=amount_krw,
                              application_id=uuid.UUID(application["id"]), completed_on=date(2025, 5, 20))
        )


def application_body(business_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    program = changes.get("program", "sme_development_fund")
    return {
        "business_id": str(business_id),
        "program": program,
        "amount_krw": 30_000_000,
        "purpose": "operating",
        "term_months": 60,
        "documents": FUND_DOCS if program == "sme_development_fund" else ["application_form", "sme_confirmation"],
        "submitted_on": "2025-05-02",
        **changes,
    }


async def known_to_loans(stack, *business_ids: uuid.UUID) -> None:
    conn = await stack.db()
    try:
        async def there() -> bool:
            count = await conn.fetchval("select count(*) from loans.businesses where id = any($1::uuid[])", list(business_ids))
            return count == len(business_ids)

        await eventually(there, timeout=60, what=f"{len(business_ids)} businesses in loans' copy")
    finally:
        await conn.close()


async def application(client: httpx.AsyncClient, loans: Any, application_id: str) -> dict:
    response = await client.get(url_for(loans, f"/applications/{application_id}"), headers=STAFF)
    assert response.status_code == 200, response.text
    return response.json()


async def settled(client: httpx.AsyncClient, loans: Any, application_id: str, *statuses: str, timeout: float = 60) -> dict:
    """The application once it is in one of `statuses` (screening is asynchronous)."""
    async def check() -> dict | None:
        found = await application(client, loans, application_id)
        return found if found["status"] in statuses else None

    return await eventually(check, timeout=timeout, what=f"application {application_id} to be {'/'.join(statuses)}")


async def submit(client: httpx.AsyncClient, loans: Any, body: dict, **headers: str) -> dict:
    response = await client.post(url_for(loans, "/applications"), json=body, headers={**STAFF, **headers})
    assert response.status_code == 201, response.text
    return response.json()


async def loan_events(bootstrap_servers: str) -> list[tuple[dict[str, str], dict]]:
    """(headers, data) of every event on loans' topic, once each (deduplicated by ce_id)."""
    seen: dict[str, tuple[dict[str, str], dict]] = {}
    for record in await read_topic(bootstrap_servers, LOANS_TOPIC):
        headers = headers_of(record)
        seen.setdefault(headers["ce_id"], (headers, json.loads(record.value)))
    return list(seen.values())


def of_type(events: list[tuple[dict[str, str], dict]], name: str, application_id: str | None = None) -> list[dict]:
    """The events of that name, in the version loans publishes (the newest)."""
    ce_type = newest("loans", name).ce_type()
    return [d for h, d in events if h["ce_type"] == ce_type and (application_id is None or d.get("application_id") == application_id)]
