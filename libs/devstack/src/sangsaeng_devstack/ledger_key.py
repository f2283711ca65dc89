"""The audit ledger's development signing key: `make run` makes one (`python -m audit keygen`,
so the key format lives in one place) unless AUDIT_SIGNING_KEY_FILE names one, and prints its
public (verifier) key. For development only: production mounts its own key (README)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["DEV_KEY_FILE", "ledger_signing_key"]

DEV_KEY_FILE = Path(".devstack/ledger-signing.key")


def ledger_signing_key(path: Path = DEV_KEY_FILE) -> tuple[Path, str]:
    """(the signing key's file, its verifier key); the file is made if it does not exist yet."""
    configured = os.environ.get("AUDIT_SIGNING_KEY_FILE")
    if configured:
        path = Path(configured)
        command = [sys.executable, "-m", "audit", "public-key"]
    elif path.exists():
        command = [sys.executable, "-m", "audit", "public-key"]
    else:
        command = [sys.executable, "-m", "audit", "keygen", "--out", str(path)]
    env = {**os.environ, "AUDIT_SIGNING_KEY_FILE": str(path) if command[-1] == "public-key" else ""}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the ledger's signing key: {' '.join(command[2:])} failed: {done.stderr.strip()[-500:]}")
    return path.resolve(), done.stdout.strip()
