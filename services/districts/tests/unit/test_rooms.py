"""The composition root and the policy: no I/O needed."""

import pytest
from pydantic import ValidationError

from districts.bootstrap import build
from districts.config import DistrictsPolicy


def test_build_wires_a_fresh_service_each_time():
    first, second = build(), build()
    assert first.name == "districts" and first.consumers[0].consumer == "districts"
    assert first.consumers[0] is not second.consumers[0]
    assert {e.name for e in first.produces} >= {"DistrictProposed", "StoreJoinedDistrict", "StoreLeftDistrict", "DistrictDesignated",
                                                  "DistrictRevoked", "ContestEntered", "ContestResultAnnounced"}


def test_the_rules_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DISTRICTS_RULES", '[{"code": "dongdaemun_ordinance", "name": "x", "stores": 12, "per_area_m2": 2000, '
                                          '"effective_from": "2026-01-01"}]')
    assert DistrictsPolicy().rules[0].stores == 12
    monkeypatch.setenv("DISTRICTS_DESIGNATION_RULE", "nowhere")
    with pytest.raises(ValidationError):
        DistrictsPolicy()


def test_a_district_event_is_keyed_by_the_district():
    from datetime import date
    from uuid import uuid4

    from sangsaeng_common.contracts.districts import StoreJoinedDistrict

    district, business = uuid4(), uuid4()
    event = StoreJoinedDistrict(district_id=district, business_id=business, longitude=127.04, latitude=37.58, inside_boundary=True,
                                onnuri_merchant=False, joined_on=date(2025, 8, 1))
    assert event.subject() == str(district) and event.topic() == "sangsaeng.districts.events"
