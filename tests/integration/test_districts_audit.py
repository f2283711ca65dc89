"""Audit learns of districts by events only: its ledger keeps them, `verify` names a
designation made while the district was below its rule (counted from the log itself:
members joined inside the boundary, not left, whose business is operating by intake's
events), and the report has a districts section."""

from __future__ import annotations

import uuid
from datetime import date

import httpx

from sangsaeng_common.contracts.districts import ContestEntered, DistrictDesignated, DistrictProposed, StoreJoinedDistrict
from sangsaeng_common.contracts.intake import BusinessRegistered, BusinessStageChanged, Stage
from tests.support import AUDITOR, Publisher, eventually, url_for


def _registered(business_id: uuid.UUID) -> BusinessRegistered:
    return BusinessRegistered(business_id=business_id, registration_number=None, name="점포", dong="제기동", industry="음식점업",
                              employees=1, is_micro_business=True, stage=Stage.operating, registered_on=date(2024, 1, 2))


async def test_verify_names_a_designation_below_the_rule_and_the_report_counts_districts(stack):
    audit = await stack.start("audit")
    district = uuid.uuid4()
    shops = [uuid.uuid4() for _ in range(15)]
    events = [DistrictProposed(district_id=district, name="회기 골목", dongs=["회기동"], association="상인회",
                               boundary={"type": "Polygon", "coordinates": []}, polygon_area_m2=2500, excluded_area_m2=500,
                               counted_area_m2=2000, proposed_on=date(2025, 3, 1))]
    for shop in shops:
        events += [_registered(shop), StoreJoinedDistrict(district_id=district, business_id=shop, longitude=127.05, latitude=37.59,
                                                          inside_boundary=True, onnuri_merchant=True, joined_on=date(2025, 3, 2))]
    # One member closes before the designation: 14 operating stores, while the designation claims 15.
    events.append(BusinessStageChanged(business_id=shops[0], from_stage=Stage.operating, to_stage=Stage.closing, changed_on=date(2025, 3, 20)))
    designated = DistrictDesignated(district_id=district, rule="dongdaemun_ordinance", stores_required_per_area=15, per_area_m2=2000,
                                    counted_area_m2=2000, counted_stores=15, required_stores=15, counted_business_ids=shops,
                                    designated_on=date(2025, 4, 1))
    events += [designated, ContestEntered(district_id=district, entry_id=uuid.uuid4(), contest_id=uuid.uuid4(), organiser="서울특별시",
                                          title="골목상권 공모", entered_on=date(2025, 5, 1))]
    async with Publisher(stack.bootstrap_servers) as publisher:
        sent = [await publisher.publish(event) for event in events]
    designation_id = str(sent[-2].id)

    async with httpx.AsyncClient(timeout=30) as client:
        async def verified():
            result = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
            return result if result["rules"]["events_checked"] == len(events) else None

        result = await eventually(verified, timeout=60, what="every event in the ledger")
        findings = [(f["rule"], f["event_id"]) for f in result["rules"]["findings"]]
        assert findings == [("district_designated_below_rule", designation_id)]
        assert result["ok"] is False

        report = (await client.get(url_for(audit, "/reports/2025H1"), headers=AUDITOR)).json()
        section = report["districts"]
        assert (section["designated"], section["member_stores"], section["contest_entries"]) == (1, 15, 1)
        assert section["districts"][0]["name"] == "회기 골목"
