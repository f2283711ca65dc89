"""Vocabulary shared by several services' contracts."""

from __future__ import annotations

from enum import StrEnum


class Need(StrEnum):
    consulting = "consulting"
    education = "education"
    loan = "loan"
    insurance = "insurance"
    closure_support = "closure_support"
    restart_support = "restart_support"
    guarantee = "guarantee"


class Channel(StrEnum):
    walk_in = "walk_in"
    phone = "phone"
    online = "online"
    visit = "visit"


class AgencyCode(StrEnum):
    SEOUL_CREDIT_GUARANTEE = "SEOUL_CREDIT_GUARANTEE"
    SEMAS = "SEMAS"
    KOSME = "KOSME"
    KBIZ = "KBIZ"
    EMPLOYMENT_INSURANCE = "EMPLOYMENT_INSURANCE"
    DDM_CHAMBER = "DDM_CHAMBER"
    SB_FEDERATION = "SB_FEDERATION"
