"""All five services, each one `serve` process (API, relay, consumers), on a test's stack."""

from __future__ import annotations

import asyncio

from sangsaeng_devstack.processes import ServiceProcess
from tests.conftest import SERVICES
from tests.support import Stack, url_for


async def start_everything(stack: Stack, **extra: str) -> dict[str, ServiceProcess]:
    """Audit first, so every other service can replay from its ledger (LEDGER_URL)."""
    audit = await stack.start("audit", **extra)
    ledger = {"LEDGER_URL": url_for(audit, "").rstrip("/")}
    others = [s for s in SERVICES if s != "audit"]
    processes = await asyncio.gather(*(stack.start(service, **ledger, **extra) for service in others))
    return {"audit": audit, **dict(zip(others, processes, strict=True))}
