"""What the visits tests share: intake's events published straight to its topic (a contract
test of what visits consumes), and small readers of visits' state."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx

from sangsaeng_common.contracts.common import Channel, Need
from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, Stage, SupportRequested
from sangsaeng_common.envelope import Envelope
from tests.support import STAFF, HeadersOf, Publisher, eventually, headers_of, read_topic, url_for

PLANNER = HeadersOf("P-2001")
VISITS_TOPIC = "sangsaeng.visits.events"


class IntakeEvents(Publisher):
    """Publishes valid CloudEvents as intake would (its relay's headers, key and value)."""

    async def business(self, dong: str = "제기동", name: str = "동대문 바른분식", **changes: Any) -> uuid.UUID:
        business_id = uuid.uuid4()
        await self.publish(
            BusinessRegistered(
                business_id=business_id, registration_number=None, name=name, dong=dong, industry="음식점업",
                employees=2, is_micro_business=True, stage=changes.pop("stage", Stage.operating), registered_on=date(2023, 3, 2),
                **changes,
            )
        )
        return business_id

    async def support_requested(self, business_id: uuid.UUID, *needs: Need, requested_on: date = date(2025, 5, 9),
                                request_id: uuid.UUID | None = None) -> Envelope:
        return await self.publish(
            SupportRequested(request_id=request_id or uuid.uuid4(), business_id=business_id, needs=list(needs),
                             channel=Channel.walk_in, requested_on=requested_on)
        )

    async def erased(self, business_id: uuid.UUID) -> Envelope:
        return await self.publish(BusinessErased(business_id=business_id, erased_at=datetime.now(UTC)))


async def known_to_visits(client: httpx.AsyncClient, visits: Any, *business_ids: uuid.UUID) -> None:
    async def all_there() -> bool:
        for business_id in business_ids:
            if (await client.get(url_for(visits, f"/businesses/{business_id}"), headers=STAFF)).status_code != 200:
                return False
        return True

    await eventually(all_there, what=f"{len(business_ids)} businesses in visits' directory")


async def visits_of(client: httpx.AsyncClient, visits: Any, business_id: uuid.UUID) -> list[dict]:
    response = await client.get(url_for(visits, "/visits"), params={"business_id": str(business_id)}, headers=STAFF)
    assert response.status_code == 200, response.text
    return response.json()


async def visit_events(bootstrap_servers: str) -> list[tuple[dict[str, str], dict]]:
    """(headers, data) of every event on visits' topic."""
    return [(headers_of(r), json.loads(r.value)) for r in await read_topic(bootstrap_servers, VISITS_TOPIC)]


def event_type(headers: dict[str, str]) -> str:
    return headers["ce_type"].split(".")[2]
