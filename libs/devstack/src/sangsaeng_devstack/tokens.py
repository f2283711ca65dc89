"""The partner agencies' codes, as the development users (users.py) and the agency topics name them.
Bearer tokens are JWTs from the local issuer (issuer.py)."""

from __future__ import annotations

from sangsaeng_devstack.users import AGENCIES

__all__ = ["AGENCIES"]
