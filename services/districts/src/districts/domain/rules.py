"""Designation rules as dated data: how many stores a district needs per area that counts.

Dongdaemun's ordinance: at least 15 stores per 2,000 m² of counted area (the polygon less
the roads and common areas the survey declares); the national rule (전통시장 및 상점가
육성을 위한 특별법): 30 per 2,000 m². Each has the dates it is in force; configuration
(DISTRICTS_RULES) replaces them. A district needs `ceil(stores × max(area, per_area) / per_area)`
stores: an area smaller than 2,000 m² still needs the full count *(inferred: the ordinance
says "within 2,000 m²")*."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class DesignationRule(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    stores: int = Field(gt=0)
    per_area_m2: float = Field(gt=0)
    effective_from: date
    effective_to: date | None = None  # inclusive; None: still in force

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def required(self, counted_area_m2: float) -> int:
        return math.ceil(self.stores * max(counted_area_m2, self.per_area_m2) / self.per_area_m2 - 1e-9)


DONGDAEMUN = "dongdaemun_ordinance"
NATIONAL = "national_act"

DEFAULT_RULES: tuple[DesignationRule, ...] = (
    DesignationRule(code=DONGDAEMUN, name="동대문구 골목형상점가 지정 조례: 2,000㎡ 이내 점포 15개 이상",
                    stores=15, per_area_m2=2000, effective_from=date(2020, 1, 1)),
    DesignationRule(code=NATIONAL, name="전통시장 및 상점가 육성을 위한 특별법: 2,000㎡ 이내 점포 30개 이상",
                    stores=30, per_area_m2=2000, effective_from=date(2010, 1, 1)),
)


class NoRuleInForce(LookupError):
    pass


def rule_in_force(rules: tuple[DesignationRule, ...] | list[DesignationRule], code: str, on: date) -> DesignationRule:
    """The version of rule `code` in force on `on`."""
    for rule in sorted((r for r in rules if r.code == code), key=lambda r: r.effective_from, reverse=True):
        if rule.in_force(on):
            return rule
    raise NoRuleInForce(f"no rule {code!r} in force on {on}")


@dataclass(frozen=True)
class Failure:
    rule: str  # e.g. dongdaemun_ordinance, state, counted_area
    message: str


@dataclass(frozen=True)
class Check:
    rule: DesignationRule
    counted_area_m2: float
    counted_stores: int

    @property
    def required_stores(self) -> int:
        return self.rule.required(self.counted_area_m2)

    @property
    def met(self) -> bool:
        return self.counted_area_m2 > 0 and self.counted_stores >= self.required_stores

    def failure(self) -> Failure | None:
        if self.counted_area_m2 <= 0:
            return Failure(self.rule.code, "the counted area is not positive (roads and common areas cover the whole polygon)")
        if not self.met:
            return Failure(self.rule.code, f"{self.counted_stores} operating stores inside the boundary; {self.rule.name} "
                                           f"needs {self.required_stores} for {self.counted_area_m2:,.0f} m²")
        return None


def check(rule: DesignationRule, counted_area_m2: float, counted_stores: int) -> Check:
    return Check(rule, counted_area_m2, counted_stores)
