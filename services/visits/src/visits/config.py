"""Visits' own settings (environment, prefix VISITS_), read by the composition root: the
scheduling policy as data, and the clock's test offset."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from sangsaeng_common.contracts.common import Need
from visits.domain.recording import DEFAULT_VISIT_NEEDS


class VisitPolicy(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VISITS_", extra="ignore", frozen=True)

    # Needs in a SupportRequested that schedule a visit, e.g. VISITS_NEEDS_CALLING_FOR_VISIT='["consulting"]'.
    needs_calling_for_visit: list[Need] = sorted(DEFAULT_VISIT_NEEDS)
    # A requested visit is scheduled from this many days after the request.
    lead_days: int = 1
    # How far ahead the assignment looks for a day on which a covering planner has room.
    horizon_days: int = 20

    @property
    def visit_needs(self) -> frozenset[Need]:
        return frozenset(self.needs_calling_for_visit)


class VisitsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VISITS_", extra="ignore", frozen=True)

    # Shifts this process's Seoul clock (tests only), e.g. VISITS_CLOCK_OFFSET_DAYS=31.
    clock_offset_days: float = 0.0
