"""Loans' own settings (environment, prefix LOANS_). Program terms are not here: they are
data in the `programs` and `fund_rounds` tables. Read once, by the composition root
(`loans.bootstrap.build`); nothing else reads the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LoansSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOANS_", extra="ignore", frozen=True)

    # An application waiting this long for its guarantee moves to guarantee_overdue.
    guarantee_timeout_days: float = Field(30.0, gt=0, validation_alias=AliasChoices("LOANS_GUARANTEE_TIMEOUT_DAYS", "GUARANTEE_TIMEOUT_DAYS"))
    # How often each consumer replica sweeps for overdue guarantees.
    guarantee_sweep_interval_s: float = Field(300.0, gt=0)
    # A budget claim no screening holds and older than this is given back (its screening failed
    # for good after claiming); far longer than a screening takes between claiming and holding it.
    orphaned_claim_after_s: float = Field(120.0, gt=0)
    # How often each consumer replica looks for such claims.
    claim_sweep_interval_s: float = Field(30.0, gt=0)
    # An instalment counts as missed (LoanInArrears) once its due date plus this many days has passed unpaid.
    arrears_grace_days: int = Field(0, ge=0, le=90)
    # How often each consumer replica checks disbursed loans for instalments whose last day has passed.
    arrears_sweep_interval_s: float = Field(3600.0, gt=0)
    # Tests only: shifts this process's clock ("now" and "today") by this many days.
    clock_offset_days: float = 0.0
