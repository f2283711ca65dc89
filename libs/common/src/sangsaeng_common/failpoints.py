"""Named crash points for the fault tests (the idea of FreeBSD's/TiKV's fail points).

`SANGSAENG_FAILPOINTS="relay.after_publish=kill"` makes the process SIGKILL itself
when it reaches that point, which is the only honest way to test "the process died
exactly between A and B"; `=error` raises `FailpointError` there instead (a handler that
fails for good at that point). Unset in production: then `hit` is a dictionary lookup.

`handler=fail:<match>` stands for a handler bug: every handler call for an event whose
ce_type, ce_id or ce_subject equals `<match>` (several joined by `|`, all must match:
`fail:sangsaeng.intake.BusinessStageChanged.v1|<business id>`) raises `FailpointError`, a
failure for good, so the event is dead-lettered. Taking the failpoint out of the
configuration (and restarting) is the fix.
"""

from __future__ import annotations

import os
import signal

_points: dict[str, str] = {}


class FailpointError(RuntimeError):
    """A failure on purpose (a failpoint configured `=error` or a handler `fail`): never a transient fault."""


def configure(spec: str) -> None:
    _points.clear()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, action = item.partition("=")
        _points[name.strip()] = action.strip() or "kill"


def hit(name: str) -> None:
    action = _points.get(name)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "error":
        raise FailpointError(f"failpoint {name}")


def failing(name: str) -> bool:
    action = _points.get(name)
    return action is not None and action.startswith("fail")


def fail_for(name: str, *facts: str) -> None:
    """Raise FailpointError if `name` is configured `fail` or `fail:<match>` and every part
    of the match is among `facts`."""
    action = _points.get(name, "")
    if not action.startswith("fail"):
        return
    wanted = [part for part in action.removeprefix("fail").removeprefix(":").split("|") if part]
    if all(part in facts for part in wanted):
        raise FailpointError(f"failpoint {name}={action}")
