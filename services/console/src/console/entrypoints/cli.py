"""`python -m console serve` (the web console; `api` is the same: the console has no relay or consumers)
and `python -m console hash-password` (an argon2 hash for CONSOLE_USERS)."""

from __future__ import annotations

import getpass

import typer
import uvicorn

from console.config import ConsoleSettings
from sangsaeng_common.logging import configure_logging

app = typer.Typer(help="Sangsaeng console", add_completion=False)


def _serve() -> None:
    settings = ConsoleSettings()
    configure_logging("console", settings.log_level)
    from console.bootstrap import build

    uvicorn.run(build(settings), host=settings.http_host, port=settings.http_port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=3)


@app.command()
def serve() -> None:
    """The web console."""
    _serve()


@app.command()
def api() -> None:
    """The same as serve."""
    _serve()


@app.command("hash-password")
def hash_password() -> None:
    """Print the argon2 hash of a password read from the terminal."""
    from argon2 import PasswordHasher

    typer.echo(PasswordHasher().hash(getpass.getpass("password: ")))


def main() -> None:
    app()
