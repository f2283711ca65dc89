"""Districts' own settings (environment, prefix DISTRICTS_): the designation rules as data. Read by bootstrap.build()."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from districts.domain.rules import DEFAULT_RULES, DONGDAEMUN, DesignationRule


class DistrictsPolicy(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISTRICTS_", extra="ignore", frozen=True)

    # DISTRICTS_RULES='[{"code": "dongdaemun_ordinance", "stores": 15, "per_area_m2": 2000, ...}]': every dated rule.
    rules: tuple[DesignationRule, ...] = DEFAULT_RULES
    # DISTRICTS_DESIGNATION_RULE: the rule a designation is checked against (the others are reported beside it).
    designation_rule: str = Field(DONGDAEMUN)

    @model_validator(mode="after")
    def _rule_known(self) -> DistrictsPolicy:
        if not any(r.code == self.designation_rule for r in self.rules):
            raise ValueError(f"DISTRICTS_DESIGNATION_RULE {self.designation_rule!r} is not among DISTRICTS_RULES")
        return self
