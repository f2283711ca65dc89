"""Vocabulary shared by several services' contracts."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

# Every string a contract carries is one of these kinds (x-string in the published schemas), or
# an enumeration, a UUID or a date; tests/unit/test_contract_strings.py holds every contract to it.
# Free text outlives nothing in the log: the log is kept for ever and an erasure cannot reach it.
Code = Annotated[str, Field(json_schema_extra={"x-string": "code"})]
"""A value from a vocabulary the system defines (a rule, a program, a dong, an industry class, a topic)."""
Ident = Annotated[str, Field(json_schema_extra={"x-string": "id"})]
"""An identifier (a planner's, a fund round's, an agency's reference, an operator's principal)."""
PublicName = Annotated[str, Field(json_schema_extra={"x-string": "name"})]
"""The public name of a shop (상호), a district, a merchants' association or a contest: never a person's words about someone."""
Generated = Annotated[str, Field(json_schema_extra={"x-string": "generated"})]
"""Text the system composes from facts it holds (e.g. an eligibility rule's detail): no person writes it."""
SUPERSEDED = "superseded: its upcaster drops it (the next version carries codes); the log keeps what was written"
NOT_ABOUT_A_BUSINESS = "about a district, never a business or its owner: the API asks for the district's facts only"


def free_text(handling: str) -> object:
    """A person's words, and how they are handled (`SUPERSEDED`, or why no erasure applies)."""
    return Field(json_schema_extra={"x-string": "free-text", "x-free-text-handling": handling})


FreeTextSuperseded = Annotated[str, free_text(SUPERSEDED)]


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
