"""``sangsaeng-dev``: the local development stack (``make run``)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .broker import DEFAULT_PORT
from .interrupt import run_interruptibly
from .issuer import DEFAULT_PORT as ISSUER_PORT
from .issuer import DEV_PASSWORD
from .processes import ServiceExited
from .stack import DATABASE, LOG_DIR, SERVICES, DevStack, StackError, runnable_services
from .users import DEV_USERS

__all__ = ["DATABASE", "LOG_DIR", "SERVICES", "app", "runnable_services"]

app = typer.Typer(
    name="sangsaeng-dev",
    help="Sangsaeng development stack: embedded broker + PostgreSQL + the services.",
    add_completion=False,
    no_args_is_help=True,
)
console = Console()


@app.callback()
def _main() -> None:
    """Sangsaeng development stack."""


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(1)


@app.command()
def run(
    service: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", help="Start only this service (repeatable). Default: all installed."),
    ] = None,
    broker_port: Annotated[
        int, typer.Option(help="Port of the embedded broker (0: any free port).")
    ] = DEFAULT_PORT,
    issuer_port: Annotated[
        int, typer.Option(help="Port of the local OIDC issuer (0: any free port).")
    ] = ISSUER_PORT,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for every /ready.")] = 60.0,
    log_dir: Annotated[Path, typer.Option(help="Where the logs go.")] = LOG_DIR,
) -> None:
    """Start the broker, PostgreSQL and every service; Ctrl-C stops everything."""
    started = time.monotonic()
    available = runnable_services()
    if service:
        unknown = [s for s in service if s not in SERVICES]
        if unknown:
            raise _fail(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(SERVICES)}")
        missing = [s for s in service if s not in available]
        if missing:
            raise _fail(f"not installed or not runnable (no __main__): {', '.join(missing)}")
        selected = {s: SERVICES[s] for s in service}
    else:
        selected = available
    stack = DevStack(services=selected, broker_port=broker_port, issuer_port=issuer_port, log_dir=log_dir,
                     ready_timeout=ready_timeout)
    try:
        stack.check_ports()
    except StackError as exc:
        raise _fail(str(exc)) from None

    try:
        with console.status("starting broker, PostgreSQL and the local issuer..."):
            stack.start_servers()
        console.print(f"broker, PostgreSQL and issuer up in {time.monotonic() - started:.2f}s")
        run_interruptibly(_serve(stack, started))
    except (ServiceExited, TimeoutError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass
    finally:
        if len(stack):
            with console.status("stopping..."):
                stack.stop()
            console.print("stopped.")


async def _serve(stack: DevStack, started: float) -> None:
    await stack.start_services()
    _report(stack.bootstrap_servers, stack.admin_url, stack.services, stack.log_dir)
    _report_identity(stack)
    if stack.ledger_verifier_key:
        console.print("audit ledger's public key (checkpoints; integrations/auditor-verify --key):")
        console.print(stack.ledger_verifier_key, soft_wrap=True, markup=False, highlight=False)  # one line, to copy whole
    console.print(
        f"[bold green]ready[/] in {time.monotonic() - started:.2f}s "
        "(all services answering /ready). Ctrl-C stops everything."
    )
    reported: set[str] = set()
    while True:
        await asyncio.sleep(0.5)
        for name, proc in stack.exited().items():
            if name not in reported:
                reported.add(name)
                console.print(
                    f"[bold red]{name} exited[/] with status {proc.returncode}; see {proc.log_path}"
                )


def _report(bootstrap_servers: str, admin_url: str, services: dict[str, int], log_dir: Path) -> None:
    table = Table(title="Sangsaeng development stack", title_justify="left")
    table.add_column("service")
    table.add_column("API")
    table.add_column("OpenAPI docs")
    for name, port in services.items():
        base = f"http://127.0.0.1:{port}"
        table.add_row(name, base, f"{base}/docs")
    console.print(table)
    console.print(f"broker (Kafka protocol): [bold]{bootstrap_servers}[/]")
    console.print(f"PostgreSQL admin: [bold]{admin_url}[/]  database [bold]{DATABASE}[/]")
    console.print(f"logs: {log_dir}/<service>.log, broker.log, postgres.log")
    not_started = [s for s in SERVICES if s not in services]
    if not_started:
        console.print(f"[dim]not started (not installed/runnable or not selected): {', '.join(not_started)}[/]")


def _report_identity(stack: DevStack) -> None:
    if stack.issuer is None:
        console.print(f"identity: the services trust [bold]{stack.auth_env.get('AUTH_ISSUER')}[/] (AUTH_ISSUER)")
        return
    issuer = stack.issuer
    users = Table(title=f"Development users (local issuer {issuer.url}, password {DEV_PASSWORD})", title_justify="left")
    users.add_column("subject")
    users.add_column("role")
    users.add_column("planner / agency")
    for user in DEV_USERS:
        users.add_row(user.subject, user.role, user.planner_id or user.agency or "")
    console.print(users)
    console.print("a token (password grant for people; agencies: grant_type=client_credentials, client_id=G-<CODE>, client_secret):")
    console.print(
        f"  TOKEN=$(curl -s {issuer.url}/token -d grant_type=password -d username=S-1001 -d password={DEV_PASSWORD}"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        soft_wrap=True, markup=False, highlight=False,
    )
    console.print(f"  curl -H \"Authorization: Bearer $TOKEN\" {stack.urls().get('intake', 'http://127.0.0.1:8001')}/support-requests",
                  soft_wrap=True, markup=False, highlight=False)


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
