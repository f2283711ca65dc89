"""Named crash points for the fault tests (the idea of FreeBSD's/TiKV's fail points).

`SANGSAENG_FAILPOINTS="relay.after_publish=kill"` makes the process SIGKILL itself
when it reaches that point, which is the only honest way to test "the process died
exactly between A and B"; `=error` raises `FailpointError` there instead (a handler that
fails for good at that point). Unset in production: then `hit` is a dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_points: dict[str, str] = {}


def configure(spec: str) -> None:
    _points.clear()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, action = item.partition("=")
        _points[name.strip()] = action.strip() or "kill"


class FailpointError(RuntimeError):
    """Raised at a failpoint configured as `=error`: not a transient fault."""


def hit(name: str) -> None:
    action = _points.get(name)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "error":
        raise FailpointError(f"failpoint {name}")
