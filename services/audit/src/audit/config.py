"""Audit's settings: the programs' limits the rules check, and where `audit replay` finds the
services. Read by the composition root (bootstrap.py), never cached in a global."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from audit.domain.rules import DEFAULT_LIMITS


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    program_limits: dict[str, dict[str, int]] = DEFAULT_LIMITS
    # Where `audit replay` asks each service to rebuild its read models (its /admin/replay).
    service_urls: dict[str, str] = {
        "intake": "http://127.0.0.1:8001",
        "visits": "http://127.0.0.1:8002",
        "loans": "http://127.0.0.1:8003",
        "referrals": "http://127.0.0.1:8004",
        "districts": "http://127.0.0.1:8007",
    }
    # AUDIT_CLOCK_OFFSET_DAYS shifts this process's clock (tests only; "now" of verify and of /applications).
    clock_offset_days: float = 0.0

    # The transparency log (contracts/ledger.md). The origin names the log in every checkpoint.
    ledger_origin: str = "sangsaeng.dongdaemun.go.kr/ledger"
    # AUDIT_SIGNING_KEY_FILE: the Ed25519 signing key, `PRIVATE+KEY+<name>+<id>+<base64>` (a mounted
    # secret; `make run` generates a development one). Never in the database.
    signing_key_file: str = ""
    # AUDIT_VERIFIER_KEYS: earlier keys (rotated out) whose checkpoints are still trusted, as
    # verifier keys `<name>+<id>+<base64>`; the signing key's own is trusted without being listed.
    verifier_keys: list[str] = []
    # How often, at most, a checkpoint is signed while entries arrive.
    checkpoint_interval_s: float = 10.0
