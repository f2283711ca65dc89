"""What the referrals tests share: the producers' events published straight to their topics
(a contract test of what referrals consumes), agency tokens, and small readers."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx

from sangsaeng_common.contracts.common import AgencyCode, Need
from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, ConsentGiven, ConsentWithdrawn, Stage
from sangsaeng_common.contracts.loans import GuaranteeRequested
from sangsaeng_common.contracts.referrals import agency_topic
from sangsaeng_common.contracts.visits import VisitOutcome, VisitRecorded
from sangsaeng_common.envelope import Envelope
from tests.support import STAFF, Publisher, Stack, eventually, headers_for, headers_of, read_topic, url_for

REFERRALS_TOPIC = "sangsaeng.referrals.events"


def agency_subject(code: AgencyCode | str) -> str:
    """The development user of an agency's integration (sangsaeng_devstack.users)."""
    return f"G-{AgencyCode(code).value}"


def as_agency(code: AgencyCode | str) -> dict[str, str]:
    return headers_for(agency_subject(code))


async def start_referrals(stack: Stack, **extra: str) -> Any:
    return await stack.start("referrals", **extra)


class Producers(Publisher):
    """Publishes valid CloudEvents as intake, visits and loans would (their relays' headers, key and value)."""

    async def business(self, business_id: uuid.UUID | None = None) -> uuid.UUID:
        business_id = business_id or uuid.uuid4()
        await self.publish(
            BusinessRegistered(business_id=business_id, registration_number=None, name="동대문 바른분식", dong="제기동",
                               industry="음식점업", employees=2, is_micro_business=True, stage=Stage.operating,
                               registered_on=date(2023, 3, 2))
        )
        return business_id

    async def visit(self, business_id: uuid.UUID, *needs: Need, visited_on: date = date(2025, 5, 12)) -> Envelope:
        return await self.publish(
            VisitRecorded(visit_id=uuid.uuid4(), business_id=business_id, planner_id="planner-02", dong="제기동", visited_on=visited_on,
                          outcome=VisitOutcome.met, stage_observed=Stage.closing, needs_identified=list(needs))
        )

    async def guarantee(self, business_id: uuid.UUID, application_id: uuid.UUID | None = None, amount_krw: int = 30_000_000,
                        requested_on: date = date(2025, 5, 2)) -> Envelope:
        return await self.publish(
            GuaranteeRequested(application_id=application_id or uuid.uuid4(), business_id=business_id, amount_krw=amount_krw,
                               requested_on=requested_on)
        )

    async def consent(self, business_id: uuid.UUID, *agencies: AgencyCode, consent_id: uuid.UUID | None = None,
                      given_at: datetime | None = None) -> uuid.UUID:
        consent_id = consent_id or uuid.uuid4()
        await self.publish(ConsentGiven(consent_id=consent_id, business_id=business_id, agencies=list(agencies),
                                        given_at=given_at or datetime.now(UTC)))
        return consent_id

    async def withdraw(self, business_id: uuid.UUID, consent_id: uuid.UUID, *agencies: AgencyCode) -> Envelope:
        return await self.publish(ConsentWithdrawn(consent_id=consent_id, business_id=business_id, agencies=list(agencies),
                                                   withdrawn_at=datetime.now(UTC)))

    async def erased(self, business_id: uuid.UUID) -> Envelope:
        return await self.publish(BusinessErased(business_id=business_id, erased_at=datetime.now(UTC)))


async def referrals_of(client: httpx.AsyncClient, service: Any, business_id: uuid.UUID, headers: dict[str, str] = STAFF) -> list[dict]:
    response = await client.get(url_for(service, "/referrals"), params={"business_id": str(business_id)}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def wait_referrals(client: httpx.AsyncClient, service: Any, business_id: uuid.UUID, check, what: str, timeout: float = 60) -> list[dict]:
    async def ready() -> list[dict] | None:
        found = await referrals_of(client, service, business_id)
        return found if check(found) else None

    return await eventually(ready, timeout=timeout, interval=0.3, what=what)


def by_program(referrals: list[dict]) -> dict[str, dict]:
    return {r["program"]: r for r in referrals}


async def events_on(bootstrap_servers: str, topic: str) -> list[tuple[dict[str, str], dict]]:
    return [(headers_of(r), json.loads(r.value)) for r in await read_topic(bootstrap_servers, topic)]


async def agency_events(bootstrap_servers: str, code: AgencyCode) -> list[tuple[dict[str, str], dict]]:
    return await events_on(bootstrap_servers, agency_topic(code))


def event_name(headers: dict[str, str]) -> str:
    return headers["ce_type"].split(".")[2]
