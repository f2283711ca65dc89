"""Service processes and the registry that guarantees nothing outlives us.

Every process the devstack starts (services, the broker, PostgreSQL) is registered in
:data:`REGISTRY`. It is stopped at interpreter exit (``atexit``), and SIGTERM/SIGHUP are turned
into ``SystemExit`` so that ``finally`` blocks, fixture finalizers and ``atexit`` run (SIGINT
already raises ``KeyboardInterrupt``). As a last resort, children spawned from the main thread
get a parent-death signal (SIGKILL), so even a ``kill -9`` of the parent leaves no strays.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from ._util import child_preexec, log_tail

__all__ = [
    "REGISTRY",
    "ProcessGroup",
    "ServiceExited",
    "ServiceProcess",
    "Stoppable",
    "install_exit_hooks",
    "register",
    "unregister",
]

_log = logging.getLogger("sangsaeng_devstack")


@runtime_checkable
class Stoppable(Protocol):
    """Anything the registry can stop: ``stop()`` must be idempotent and safe at exit."""

    def stop(self) -> None: ...


class ProcessGroup:
    """A set of started things, stopped together in reverse start order.

    Members that have ``request_stop()`` (service processes) are all signalled first and then
    waited for, so stopping N services takes one grace period, not N.
    """

    def __init__(self) -> None:
        self._items: list[Stoppable] = []
        self._lock = threading.RLock()

    def add(self, item: Stoppable) -> None:
        with self._lock:
            if item not in self._items:
                self._items.append(item)

    def discard(self, item: Stoppable) -> None:
        with self._lock:
            if item in self._items:
                self._items.remove(item)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))

    def stop_all(self) -> None:
        with self._lock:
            items = list(reversed(self._items))
        for item in items:
            request = getattr(item, "request_stop", None)
            if request is not None:
                try:
                    request()
                except Exception:  # noqa: BLE001 - best effort, keep stopping the rest
                    _log.exception("devstack: failed to signal %r", item)
        for item in items:
            try:
                item.stop()
            except Exception:  # noqa: BLE001
                _log.exception("devstack: failed to stop %r", item)
            self.discard(item)

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


#: Everything the devstack started in this interpreter; stopped at exit.
REGISTRY = ProcessGroup()

_hooks_installed = False
_hooks_lock = threading.Lock()


def _raise_system_exit(signum: int, frame: object) -> None:
    # Ignore repeats so they cannot cut the (bounded) cleanup short: `uv run` forwards the
    # signal to us although `kill -TERM -<pgid>` already delivered it. SIGKILL still works,
    # and the parent-death signal then takes the children down with us.
    signal.signal(signum, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def install_exit_hooks() -> None:
    """Register the atexit cleanup and turn SIGTERM/SIGHUP into SystemExit (idempotent).

    Handlers are only installed from the main thread and only where the signal still has its
    default disposition, so an application's own handlers are left alone.
    """
    global _hooks_installed
    with _hooks_lock:
        if _hooks_installed:
            return
        _hooks_installed = True
        atexit.register(REGISTRY.stop_all)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                try:
                    if signal.getsignal(sig) == signal.SIG_DFL:
                        signal.signal(sig, _raise_system_exit)
                except (ValueError, OSError):  # pragma: no cover - exotic embedding
                    pass


def register(item: Stoppable) -> None:
    """Track ``item`` so it is stopped at exit."""
    install_exit_hooks()
    REGISTRY.add(item)


def unregister(item: Stoppable) -> None:
    REGISTRY.discard(item)


class ServiceExited(RuntimeError):
    """A service process exited while we were waiting for it."""


class ServiceProcess:
    """``<python> -m <service> <command> [args...]`` as a child in its own process group.

    ``env`` is merged over ``os.environ``. Output (stdout and stderr) goes to
    ``<log_dir>/<name>.log``; the file is truncated on the first start and appended to on
    restarts. The name defaults to ``<service>`` for ``serve`` and ``<service>-<command>``
    otherwise; give distinct names to several instances of one command.
    """

    def __init__(
        self,
        service: str,
        command: str = "serve",
        *,
        env: Mapping[str, str] | None = None,
        log_dir: str | os.PathLike[str] = ".devstack/logs",
        name: str | None = None,
        args: Sequence[str] = (),
        python: str = sys.executable,
        cwd: str | os.PathLike[str] | None = None,
        ready_url: str | None = None,
    ) -> None:
        self.service = service
        self.command = command
        self.env: dict[str, str] = dict(env or {})
        self.name = name or (service if command == "serve" else f"{service}-{command}")
        self.log_dir = Path(log_dir)
        self.log_path = self.log_dir / f"{self.name}.log"
        self.args = list(args)
        self.python = python
        self.cwd = cwd
        self.ready_url = ready_url
        self._popen: subprocess.Popen[bytes] | None = None
        self._starts = 0

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def argv(self) -> list[str]:
        return [self.python, "-m", self.service, self.command, *self.args]

    def start(self) -> ServiceProcess:
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        mode = "ab" if self._starts else "wb"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        with open(self.log_path, mode) as log:
            log.write(
                f"--- devstack: starting {' '.join(self.argv)} at {time.strftime('%H:%M:%S')}\n".encode()
            )
            log.flush()
            self._popen = subprocess.Popen(
                self.argv,
                env=env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=child_preexec(),
            )
        self._starts += 1
        register(self)
        return self

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def returncode(self) -> int | None:
        """None while running (or never started); the exit status (negative: signal) after."""
        return self._popen.poll() if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the service's whole process group (e.g. SIGSTOP/SIGCONT)."""
        if self._popen is None:
            raise RuntimeError(f"{self.name} was never started")
        if self._popen.poll() is not None:
            return
        try:
            os.killpg(self._popen.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> int | None:
        """SIGKILL the process group and reap it; returns the exit status."""
        if self._popen is None:
            return None
        self._killpg(signal.SIGKILL)
        rc = self._popen.wait()
        unregister(self)
        return rc

    def request_stop(self) -> None:
        """Send SIGTERM (and SIGCONT, in case it was paused) without waiting."""
        if self.running:
            self._killpg(signal.SIGTERM)
            self._killpg(signal.SIGCONT)

    def terminate(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. Returns the exit status."""
        if self._popen is None:
            return None
        if self._popen.poll() is None:
            self.request_stop()
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                _log.warning("devstack: %s did not stop in %.1fs, killing it", self.name, timeout)
        # Also sweeps any children the service left in its group.
        self._killpg(signal.SIGKILL)
        rc = self._popen.wait()
        unregister(self)
        return rc

    def stop(self) -> None:
        self.terminate()

    def restart(self, timeout: float = 10.0) -> ServiceProcess:
        self.terminate(timeout)
        return self.start()

    def wait(self, timeout: float | None = None) -> int:
        if self._popen is None:
            raise RuntimeError(f"{self.name} was never started")
        return self._popen.wait(timeout)

    def _killpg(self, sig: int) -> None:
        assert self._popen is not None
        try:
            os.killpg(self._popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    # -- readiness -------------------------------------------------------------------------

    def default_ready_url(self) -> str | None:
        if self.ready_url:
            return self.ready_url
        port = self.env.get("HTTP_PORT")
        return f"http://127.0.0.1:{port}/ready" if port else None

    async def wait_ready(self, url: str | None = None, timeout: float = 30.0) -> float:
        """Poll GET ``url`` until it answers 200; returns the seconds waited.

        ``url`` defaults to ``http://127.0.0.1:$HTTP_PORT/ready`` from the service's env.
        Raises :class:`ServiceExited` (with the log tail) if the process dies meanwhile and
        ``TimeoutError`` if it is not ready in time.
        """
        import httpx  # imported here: it costs ~0.5 s and only readiness needs it

        url = url or self.default_ready_url()
        if url is None:
            raise ValueError(f"{self.name}: no url given and no HTTP_PORT in its env")
        started = time.monotonic()
        deadline = started + timeout
        last = "no answer yet"
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if not self.running:
                    raise ServiceExited(
                        f"{self.name} exited with status {self.returncode} before {url} was ready; "
                        f"log {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                try:
                    remaining = max(0.1, min(2.0, deadline - time.monotonic()))
                    response = await client.get(url, timeout=remaining)
                    if response.status_code == 200:
                        return time.monotonic() - started
                    last = f"HTTP {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{self.name} not ready at {url} after {timeout:.0f}s ({last}); "
                        f"log {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                await asyncio.sleep(0.1)

    def wait_ready_blocking(self, url: str | None = None, timeout: float = 30.0) -> float:
        """:meth:`wait_ready` for code that has no event loop running."""
        return asyncio.run(self.wait_ready(url, timeout))

    def __enter__(self) -> ServiceProcess:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited {self.returncode}"
        return f"<ServiceProcess {self.name} pid={self.pid} {state}>"
