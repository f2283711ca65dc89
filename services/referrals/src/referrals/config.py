"""Referrals' own settings (environment, prefix REFERRAL_): policy as data. Read by bootstrap.build()."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sangsaeng_common.contracts.common import AgencyCode
from referrals.domain.agencies import Agency, ConsentRule, with_rules


class ReferralPolicy(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REFERRAL_", extra="ignore", frozen=True)

    # REFERRAL_OVERDUE_DAYS: a sent referral with no outcome after this many days is overdue.
    overdue_days: int = Field(14, ge=0)
    # REFERRAL_CONSENT_RULES='{"KBIZ": "send_without"}': per agency, what to do without consent.
    consent_rules: dict[AgencyCode, ConsentRule] = Field(default_factory=dict)

    @property
    def agencies(self) -> dict[AgencyCode, Agency]:
        return with_rules({k.value: v for k, v in self.consent_rules.items()})
