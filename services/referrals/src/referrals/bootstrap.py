"""Composition root of referrals: reads the policy, builds the Seoul clock and wires them
into the consumers and the routes."""

from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.referrals import (
    ReferralAcknowledged, ReferralBasisLost, ReferralCompleted, ReferralPersonalDataShared, ReferralSent, agency_topic,
)
from sangsaeng_common.read_models import ReadModel
from sangsaeng_common.runtime import ServiceDefinition
from referrals.config import ReferralPolicy
from referrals.entrypoints import consumers, http
from referrals.service_layer.handlers import Deps


def build() -> ServiceDefinition:
    deps = Deps(policy=ReferralPolicy(), clock=SeoulClock())
    return ServiceDefinition(
        name="referrals",
        title="Sangsaeng referrals",
        description="Partner agencies and their programs, referral rules, consent gating, the agency-facing topics "
        "(sangsaeng.agency.<code>.referrals) and the agency API (acknowledge, outcome).",
        routes=http.routes(deps),
        consumers=[consumers.handlers(deps)],
        produces=[ReferralSent, ReferralAcknowledged, ReferralCompleted, ReferralBasisLost, ReferralPersonalDataShared],
        extra_topics=[agency_topic(code) for code in AgencyCode],
        # Rebuilt exactly from intake's events by a replay (referrals themselves depend on order across topics).
        read_models=[
            *consumers.DIRECTORY.read_models(),
            ReadModel("consents", key=("consent_id", "agency"), subject="business_id"),
        ],
    )
