"""The HTTP API's request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from intake.domain import registration
from sangsaeng_common.contracts.intake import Stage


class BusinessIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "registration_number": "220-81-62517",
                    "name": "동대문 바른분식",
                    "dong": "제기동",
                    "address": "서울 동대문구 제기로 1",
                    "industry": "음식점업",
                    "employees": 2,
                    "stage": "operating",
                    "registered_on": "2023-03-02",
                }
            ]
        },
    )

    registration_number: str | None = Field(None, description="XXX-XX-XXXXX or 10 digits; omit for a would-be founder")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    dong: str = Field(description="administrative dong (행정동) of Dongdaemun-gu")
    address: Annotated[str, Field(max_length=300)] | None = None
    industry: Annotated[str, Field(min_length=1, max_length=100)]
    employees: Annotated[int, Field(ge=0, le=100_000)]
    stage: Stage = Stage.operating
    registered_on: date | None = None

    @field_validator("registration_number")
    @classmethod
    def _valid_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return registration.normalize(value)
        except registration.InvalidRegistrationNumber as exc:
            raise ValueError(str(exc)) from exc


class Business(BaseModel):
    id: UUID
    registration_number: str | None
    business_kind: str | None
    name: str
    dong: str
    address: str | None
    industry: str
    employees: int
    is_micro_business: bool
    stage: Stage
    registered_on: date | None
    created_at: datetime
    updated_at: datetime


class StageChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"stage": "closing", "reason": "임대료 부담", "changed_on": "2025-05-12"}]})

    stage: Stage
    reason: Annotated[str, Field(max_length=500)] | None = None
    changed_on: date | None = None
