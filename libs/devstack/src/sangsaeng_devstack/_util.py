"""Small helpers shared by the devstack modules (ports, log tails, child-process hygiene)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """Return a TCP port that is free right now (the OS picks it; small race until bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use(port: int, host: str = LOCALHOST) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def log_tail(path: Path | None, lines: int = 30) -> str:
    """The last lines of a log file, for error messages ("" if unreadable)."""
    if path is None:
        return ""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


_PR_SET_PDEATHSIG = 1


def _load_libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()


def child_preexec() -> Callable[[], None] | None:
    """A preexec_fn that makes the child die (SIGKILL) if this process dies.

    Last line of defence against stray processes when the parent is killed with SIGKILL
    (atexit cannot run then). Linux delivers the parent-death signal when the *thread* that
    forked exits, so it is only armed when spawning from the main thread, whose exit is the
    process's exit. The children are started in their own session, so a Ctrl-C in the
    terminal reaches only us and we stop them in order.
    """
    if _LIBC is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    libc = _LIBC

    def _preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may already have died between fork and prctl.
        if os.getppid() != parent:
            os._exit(1)

    return _preexec
