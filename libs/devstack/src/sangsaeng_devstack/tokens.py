"""Development bearer tokens (token -> role) that `make run` hands to the services.

Services receive them as the env var AUTH_TOKENS (a JSON object token -> role). If AUTH_TOKENS
is already set in the environment, that value is used instead. For development only.
"""

from __future__ import annotations

import json
import os

__all__ = ["AGENCIES", "DEV_TOKENS", "agency_token", "auth_tokens_env"]

#: Partner agency codes, as used in roles ``agency:<CODE>``.
AGENCIES: tuple[str, ...] = (
    "SEOUL_CREDIT_GUARANTEE",
    "SEMAS",
    "KOSME",
    "KBIZ",
    "EMPLOYMENT_INSURANCE",
    "DDM_CHAMBER",
    "SB_FEDERATION",
)


def agency_token(code: str) -> str:
    """``SEOUL_CREDIT_GUARANTEE`` -> ``dev-agency-seoul-credit-guarantee-token``."""
    return f"dev-agency-{code.lower().replace('_', '-')}-token"


DEV_TOKENS: dict[str, str] = {
    "dev-staff-token": "staff",
    "dev-planner-token": "planner",
    "dev-loan-officer-token": "loan_officer",
    "dev-auditor-token": "auditor",
    "dev-operator-token": "operator",
    **{agency_token(code): f"agency:{code}" for code in AGENCIES},
}


def auth_tokens_env() -> str:
    """The AUTH_TOKENS value for the services: the environment's own, else DEV_TOKENS."""
    return os.environ.get("AUTH_TOKENS") or json.dumps(DEV_TOKENS)
