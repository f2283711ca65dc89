"""Start the whole development stack, wait until it is ready, stop it: one implementation
shared by ``make run`` (``sangsaeng-dev run``) and ``make demo`` (``sangsaeng-demo run``)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ._util import port_in_use
from .broker import DEFAULT_PORT, broker_from_env_or_start
from .postgres import postgres_from_env_or_start
from .processes import ProcessGroup, ServiceProcess
from .provision import provision
from .ledger_key import ledger_signing_key
from .issuer import DEFAULT_PORT as ISSUER_PORT
from .issuer import Issuer

__all__ = ["DATABASE", "LOG_DIR", "SERVICES", "DevStack", "StackError", "runnable_services"]

#: Every service and its HTTP port (a stable interface: see DESIGN.md).
SERVICES: dict[str, int] = {
    "intake": 8001,
    "visits": 8002,
    "loans": 8003,
    "referrals": 8004,
    "audit": 8005,
    "districts": 8007,
    "console": 8006,  # last: it calls the others
}
#: Services that own no data: no database role or schema; they call the others' HTTP APIs.
API_CLIENTS: frozenset[str] = frozenset({"console"})

DATABASE = "sangsaeng"
LOG_DIR = Path(".devstack/logs")


class StackError(RuntimeError):
    """The stack cannot start here (a port is taken, a service is not installed)."""


def runnable_services(services: dict[str, int] = SERVICES) -> dict[str, int]:
    """The services whose package is installed and runnable (``python -m <service>``)."""
    found: dict[str, int] = {}
    for name, port in services.items():
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        if any(Path(loc, "__main__.py").exists() for loc in spec.submodule_search_locations):
            found[name] = port
    return found


@dataclass
class DevStack:
    """The broker, PostgreSQL and the service processes, started in that order.

    ``start_servers()`` (blocking) starts or attaches to the broker and PostgreSQL
    (``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` name existing ones) and starts the local
    OIDC issuer on a thread of this process (``AUTH_ISSUER`` names another); ``await
    start_services()`` provisions one role and schema per service, starts each service with
    ``serve`` and waits until every ``/ready`` answers. ``await start()`` does both.
    ``stop()`` stops everything started, in reverse order, and is safe to call at any point
    (also after a failed or interrupted start).
    """

    services: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    broker_port: int = DEFAULT_PORT  # 0: any free port
    log_dir: Path = LOG_DIR
    ready_timeout: float = 60.0
    group: ProcessGroup = field(default_factory=ProcessGroup)
    bootstrap_servers: str = ""
    admin_url: str = ""
    issuer_port: int = ISSUER_PORT  # the local OIDC issuer's (0: any free port); AUTH_ISSUER names another instead
    issuer: Issuer | None = None
    auth_env: dict[str, str] = field(default_factory=dict)  # how the services find their issuer
    ledger_verifier_key: str = ""  # the audit ledger's public key (checkpoints are signed by its signing key)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    env_files: list[Path] = field(default_factory=list)

    @property
    def env_dir(self) -> Path:
        """Where each running service's environment is written (beside the logs: .devstack/env)."""
        return self.log_dir.parent / "env"

    def _write_env(self, name: str, env: dict[str, str]) -> None:
        """`<service>.env`, shell-quoted, readable by this user only (it holds the service's database
        password): so that a service's command line (`python -m audit export`, `python -m visits dlq list`)
        runs against the running stack after `set -a; . .devstack/env/<service>.env; set +a`."""
        self.env_dir.mkdir(parents=True, exist_ok=True)
        path = self.env_dir / f"{name}.env"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.writelines(f"{key}={shlex.quote(value)}\n" for key, value in env.items() if key != "HTTP_PORT")
        self.env_files.append(path)

    def check_ports(self) -> None:
        busy = [f"{s} ({port})" for s, port in self.services.items() if port_in_use(port)]
        if busy:
            raise StackError(f"HTTP port(s) already in use: {', '.join(busy)} (is another `make run` up?)")
        if not os.environ.get("AUTH_ISSUER") and self.issuer_port and port_in_use(self.issuer_port):
            raise StackError(f"port {self.issuer_port} is in use, so the local issuer cannot start there (another `make run`?)")
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and self.broker_port and port_in_use(self.broker_port):
            raise StackError(
                f"port {self.broker_port} is in use, so the broker cannot start there "
                "(another `make run`? use --broker-port 0, or set KAFKA_BOOTSTRAP_SERVERS)"
            )

    def start_servers(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        broker = broker_from_env_or_start(self.broker_port or None, log_path=self.log_dir / "broker.log")
        self.group.add(broker)
        self.bootstrap_servers = broker.bootstrap_servers
        pg = postgres_from_env_or_start(log_path=self.log_dir / "postgres.log")
        self.group.add(pg)
        self.admin_url = pg.admin_url
        self.start_issuer()

    def start_issuer(self) -> None:
        """The local OIDC issuer, unless AUTH_ISSUER names the one to trust (with AUTH_AUDIENCE, AUTH_JWKS_URL)."""
        if os.environ.get("AUTH_ISSUER"):
            self.auth_env = {k: os.environ[k] for k in ("AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_JWKS_URL") if os.environ.get(k)}
            return
        self.issuer = Issuer(port=self.issuer_port).start()
        self.group.add(self.issuer)
        self.auth_env = self.issuer.service_env()

    async def start_services(self) -> None:
        owners = [name for name in self.services if name not in API_CLIENTS]
        databases = await provision(self.admin_url, DATABASE, owners) if owners else {}
        urls = {f"{name.upper()}_URL": url for name, url in self.urls().items()}
        ledger_key: dict[str, str] = {}
        if "audit" in self.services:
            key_file, self.ledger_verifier_key = await asyncio.to_thread(ledger_signing_key)
            ledger_key = {"AUDIT_SIGNING_KEY_FILE": str(key_file)}
        for name, port in self.services.items():
            proc = ServiceProcess(
                name,
                "serve",
                env=(env := {
                    "SERVICE_NAME": name,
                    **(databases[name].env() if name in databases else urls),
                    "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
                    "HTTP_PORT": str(port),
                    **self.auth_env,
                    # audit serves the recorded events feed a replay may read (`replay --source ledger`)
                    **({"EVENTS_FEED_URL": f"http://127.0.0.1:{self.services['audit']}"} if "audit" in self.services else {}),
                    **(ledger_key if name == "audit" else {}),
                }),
                log_dir=self.log_dir,
            )
            self._write_env(name, env)
            self.group.add(proc)
            self.processes[name] = proc.start()
        await asyncio.gather(*(p.wait_ready(timeout=self.ready_timeout) for p in self.processes.values()))

    async def start(self) -> DevStack:
        self.check_ports()
        self.start_servers()
        await self.start_services()
        return self

    def urls(self) -> dict[str, str]:
        return {name: f"http://127.0.0.1:{port}" for name, port in self.services.items()}

    def exited(self) -> dict[str, ServiceProcess]:
        """The service processes that are no longer running."""
        return {name: p for name, p in self.processes.items() if not p.running}

    def stop(self) -> None:
        self.group.stop_all()
        for path in self.env_files:  # the passwords they hold die with the stack
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.env_files.clear()

    def __len__(self) -> int:
        return len(self.group)
