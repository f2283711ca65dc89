"""The partner agencies' codes, as the development users (users.py) and the agency topics name them.
Bearer tokens are JWTs from the local issuer (issuer.py)."""

from __future__ import annotations

__all__ = ["AGENCIES"]

#: Partner agency codes: one development user `G-<CODE>` each, with role `agency`.
AGENCIES: tuple[str, ...] = (
    "SEOUL_CREDIT_GUARANTEE",
    "SEMAS",
    "KOSME",
    "KBIZ",
    "EMPLOYMENT_INSURANCE",
    "DDM_CHAMBER",
    "SB_FEDERATION",
)
