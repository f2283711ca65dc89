"""`python -m audit serve|api|relay|consume` runs the service; `verify`, `report` and
`export` are the auditors' command-line tools, reading the ledger directly."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from audit import queries, render
from audit.bootstrap import definition
from audit.domain.period import parse_period
from sangsaeng_common.db import connect
from sangsaeng_common.report_tables import print_report
from sangsaeng_common.service import cli
from sangsaeng_common.settings import ServiceSettings

app = cli(definition)
console = Console(stderr=True)


def _with_ledger(work: Callable[[Any], Awaitable[int]]) -> int:
    async def run() -> int:
        settings = ServiceSettings(service_name="audit")  # type: ignore[call-arg]
        conn = await connect(settings.database_url, settings.schema, "audit-cli")
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


@app.command()
def verify() -> None:
    """Walk the hash chain and check the cross-service rules; exit 1 on any finding."""

    async def work(conn) -> int:
        result = await queries.verify(conn)
        Console().print_json(json.dumps(result, ensure_ascii=False))
        return 0 if result["ok"] else 1

    raise typer.Exit(_with_ledger(work))


@app.command()
def report(
    period: Annotated[str, typer.Option(help="YYYYH1, YYYYH2, YYYYQ1..Q4, YYYY-MM or YYYY")],
    out: Annotated[Path, typer.Option(help="where the JSON, CSV and PNG files go")] = Path("out/reports"),
) -> None:
    """The center's report for a period: a terminal table, and JSON, CSV and PNG files."""
    parsed = parse_period(period)

    async def work(conn) -> int:
        result = await queries.report(conn, parsed)
        print_report(result, Console())
        for kind, path in render.write_files(result, out).items():
            console.print(f"{kind}: {path}")
        return 0

    raise typer.Exit(_with_ledger(work))


@app.command()
def export(
    period: Annotated[str, typer.Option(help="YYYYH1, YYYYH2, YYYYQ1..Q4, YYYY-MM or YYYY")],
    format: Annotated[str, typer.Option(help="jsonl or csv")] = "jsonl",
) -> None:
    """A period's events, whole, as JSON lines or CSV on standard output."""
    parsed = parse_period(period)
    if format not in ("jsonl", "csv"):
        raise typer.BadParameter("jsonl or csv", param_hint="--format")

    async def work(conn) -> int:
        count = 0
        writer = csv.writer(sys.stdout) if format == "csv" else None
        if writer:
            writer.writerow(["position", "event_id", "type", "source", "subject", "time", "topic", "partition", "offset", "hash", "data"])
        async for event in queries.export(conn, parsed):
            count += 1
            if writer:
                writer.writerow([event[k] for k in ("position", "event_id", "type", "source", "subject", "time", "topic", "partition", "offset", "hash")] + [json.dumps(event["data"], ensure_ascii=False)])
            else:
                sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        console.print(f"{count} events")
        return 0

    raise typer.Exit(_with_ledger(work))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
