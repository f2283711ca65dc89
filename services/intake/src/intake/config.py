"""Intake's own settings (environment, prefix INTAKE_), read by the composition root."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    # Shifts this process's Seoul clock (tests only), e.g. INTAKE_CLOCK_OFFSET_DAYS=31.
    clock_offset_days: float = 0.0
