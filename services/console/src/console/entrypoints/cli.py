"""`python -m console serve` (the web console; `api` is the same: the console has no relay or consumers).
People sign in at the identity provider: the console keeps no passwords."""

from __future__ import annotations

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


def main() -> None:
    app()
