"""Composition root of referrals."""

from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.referrals import ReferralAcknowledged, ReferralCompleted, ReferralSent, agency_topic
from sangsaeng_common.read_models import ReadModel
from sangsaeng_common.runtime import ServiceDefinition
from referrals.consumers import handlers
from referrals.entrypoints.http import routes

definition = ServiceDefinition(
    name="referrals",
    title="Sangsaeng referrals",
    description="Partner agencies and their programs, referral rules, consent gating, the agency-facing topics "
    "(sangsaeng.agency.<code>.referrals) and the agency API (acknowledge, outcome).",
    routes=routes,
    consumers=[handlers],
    produces=[ReferralSent, ReferralAcknowledged, ReferralCompleted],
    extra_topics=[agency_topic(code) for code in AgencyCode],
    # Rebuilt exactly from intake's events by a replay (referrals themselves depend on order across topics).
    read_models=[
        ReadModel("businesses", key=("id",), ignore=("updated_at",), subject="id"),
        ReadModel("consents", key=("consent_id", "agency"), subject="business_id"),
    ],
)
