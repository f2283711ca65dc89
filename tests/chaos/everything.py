"""All five services, each one `serve` process (API, relay, consumers), on a test's stack."""

from __future__ import annotations

import asyncio

from sangsaeng_devstack.processes import ServiceProcess
from tests.conftest import SERVICES
from tests.support import Stack


async def start_everything(stack: Stack, **extra: str) -> dict[str, ServiceProcess]:
    processes = await asyncio.gather(*(stack.start(service, **extra) for service in SERVICES))
    return dict(zip(SERVICES, processes, strict=True))
