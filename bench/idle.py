"""The idle stack: every service (`serve`: API, relay, consumers), the broker and PostgreSQL,
started as `make run` starts them (on free ports), then left alone for 60 s.

    .venv/bin/python bench/idle.py [--quick]

CPU is read from /proc/<pid>/stat (utime + stime, and cutime + cstime for children that
exited: PostgreSQL's short-lived backends) at the start and the end of the window, for each
process and its live descendants (PostgreSQL's backends, checkpointer, walwriter…), divided by
the window's wall time: the share of one core each part burns doing nothing. After start-up
the stack is given a settling time (consumers join their groups, the first checkpoints run)
before the window opens (consumers rest after 10 s without records:
CONSUMER_IDLE_AFTER_S). --quick measures 20 s instead of 60 s.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _row import Row  # noqa: E402

WHAT = "idle stack: every service, broker, PostgreSQL, no traffic"
TARGET_CORES = 0.05
WINDOW_S = 60.0
SETTLE_S = 20.0
TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return found


def _ticks(pid: int, *, exited_children: bool) -> int:
    """utime + stime (+ cutime + cstime) of one process, in clock ticks; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": fields[0] is the state
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return utime + stime + (cutime + cstime if exited_children else 0)


def _tree_ticks(root: int) -> dict[int, int]:
    """Each live process of a tree and its ticks (the root counts its exited children too; a
    descendant that exits during the window is counted in its parent's cutime, so a tree's
    total is monotonic)."""
    ticks, todo = {}, [root]
    while todo:
        pid = todo.pop()
        ticks[pid] = _ticks(pid, exited_children=True)
        todo += _children(pid)
    return ticks


def _tree_total(root: int) -> int:
    return sum(_tree_ticks(root).values())


async def measure(quick: bool) -> list[Row]:
    from sangsaeng_devstack.stack import SERVICES, DevStack, runnable_services

    window = 20.0 if quick else WINDOW_S
    services = {name: _free_port() for name in runnable_services(SERVICES)}
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as logs:
        stack = DevStack(services=services, broker_port=0, log_dir=Path(logs) / "logs", ready_timeout=120)
        try:
            await asyncio.to_thread(stack.start_servers)
            await stack.start_services()
            broker, postgres = (item for item in stack.group if type(item).__name__ in ("Broker", "Postgres"))
            roots = {name: p.pid for name, p in stack.processes.items()}
            roots[type(broker).__name__.lower()] = broker.pid
            roots[type(postgres).__name__.lower()] = postgres.pid
            await asyncio.sleep(SETTLE_S)
            before = {name: _tree_total(pid) for name, pid in roots.items()}
            started = time.monotonic()
            await asyncio.sleep(window)
            after = {name: _tree_total(pid) for name, pid in roots.items()}
            elapsed = time.monotonic() - started
            exited = sorted(stack.exited())
        finally:
            await asyncio.to_thread(stack.stop)
    if exited:
        raise RuntimeError(f"service(s) exited while idle: {', '.join(exited)}")
    shares = {name: (after[name] - before[name]) / TICKS / elapsed for name in roots}
    total = sum(shares.values())
    note = ", ".join(f"{name} {share:.3f}" for name, share in sorted(shares.items(), key=lambda kv: -kv[1]))
    figure = f"{total:.3f} of a core over {elapsed:.0f} s"
    if quick:
        note += f"; {window:.0f} s window (quick)"
    return [Row(WHAT, figure, "—", None, f"< {TARGET_CORES} core", total < TARGET_CORES, f"per process (cores): {note}")]


if __name__ == "__main__":
    from _standalone import main

    main(measure)
