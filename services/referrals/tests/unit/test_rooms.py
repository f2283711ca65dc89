"""The composition root and the service layer's read scoping: no I/O needed."""

import pytest

from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.errors import Forbidden
from referrals.bootstrap import build
from referrals.service_layer import views


def test_build_wires_a_fresh_service_each_time(monkeypatch):
    monkeypatch.setenv("REFERRAL_CONSENT_RULES", '{"KBIZ": "send_without"}')
    first, second = build(), build()
    assert first.name == "referrals" and first.consumers[0].consumer == "referrals"
    assert first.consumers[0] is not second.consumers[0]  # no module-level registry or cached policy


def test_an_agency_reads_only_its_own_referrals():
    assert views._agency_filter(None, None) is None
    assert views._agency_filter(None, AgencyCode.SEMAS) == "SEMAS"
    assert views._agency_filter("SEMAS", None) == "SEMAS"
    assert views._agency_filter("SEMAS", AgencyCode.SEMAS) == "SEMAS"
    with pytest.raises(Forbidden) as refused:
        views._agency_filter("SEMAS", AgencyCode.KBIZ)
    assert (refused.value.title, refused.value.detail) == ("Forbidden", "agency SEMAS may read only its own referrals")
