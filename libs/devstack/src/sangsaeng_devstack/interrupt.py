"""Ctrl-C for long-running commands that must clean up: `make run` and `make demo`.

Raising KeyboardInterrupt from a Python signal handler is fragile: it is raised wherever
the interpreter happens to be, and when that is a weakref callback or a `__del__` during
garbage collection, Python prints "Exception ignored" and swallows it, so the command
runs on. Here the first SIGINT/SIGTERM instead cancels the main coroutine through the
event loop, and every repeat from then on is ignored (under `uv run` one Ctrl-C arrives
twice), so the cleanup that follows cannot be cut short.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_interruptibly(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, where SIGINT or SIGTERM cancels `main` and raises KeyboardInterrupt."""

    async def runner() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(main)
        interrupted = False

        def interrupt() -> None:
            nonlocal interrupted
            if not interrupted:
                interrupted = True
                task.cancel()

        previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
        for sig in SIGNALS:
            loop.add_signal_handler(sig, interrupt)
        try:
            return await task
        except asyncio.CancelledError:
            if interrupted:
                raise KeyboardInterrupt from None
            raise
        finally:
            for sig in SIGNALS:
                loop.remove_signal_handler(sig)
                # Interrupted: ignore repeats until the process exits. Otherwise put back
                # what was there before.
                signal.signal(sig, signal.SIG_IGN if interrupted else previous[sig])

    return asyncio.run(runner())
