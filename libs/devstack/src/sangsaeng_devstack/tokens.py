"""Development bearer tokens that `make run` hands to the services: one per role (token ->
role) and one per development user (token -> the user's claims: role, subject, planner id,
agency), so that a command names the person who gave it (`dev-user-p-2001-token` is planner-01's
person, P-2001).

Services receive them as the env var AUTH_TOKENS (a JSON object). If AUTH_TOKENS is already
set in the environment, that value is used instead. For development only.
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["AGENCIES", "DEV_TOKENS", "agency_token", "auth_tokens_env", "user_token"]

from sangsaeng_devstack.users import AGENCIES, DEV_USERS


def agency_token(code: str) -> str:
    """``SEOUL_CREDIT_GUARANTEE`` -> ``dev-agency-seoul-credit-guarantee-token``."""
    return f"dev-agency-{code.lower().replace('_', '-')}-token"


def user_token(subject: str) -> str:
    """``P-2001`` -> ``dev-user-p-2001-token``."""
    return f"dev-user-{subject.lower().replace('_', '-')}-token"


DEV_TOKENS: dict[str, Any] = {
    "dev-staff-token": "staff",
    "dev-planner-token": "planner",
    "dev-loan-officer-token": "loan_officer",
    "dev-auditor-token": "auditor",
    "dev-operator-token": "operator",
    **{agency_token(code): f"agency:{code}" for code in AGENCIES},
    **{user_token(u.subject): {"role": u.role, "subject": u.subject, "planner_id": u.planner_id, "agency": u.agency} for u in DEV_USERS},
}


def auth_tokens_env() -> str:
    """The AUTH_TOKENS value for the services: the environment's own, else DEV_TOKENS."""
    return os.environ.get("AUTH_TOKENS") or json.dumps(DEV_TOKENS)
