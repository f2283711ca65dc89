"""The auditors' command line, next to the service's own (serve, api, relay, consume, migrate,
republish from sangsaeng_common.cli): `verify`, `report`, `export` and `application`
read the ledger directly; `replay` asks the services to rebuild their read models (over their
/admin/replay)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from audit.config import AuditSettings
from audit.entrypoints import render
from audit.entrypoints.report_tables import print_report
from audit.service_layer import handlers
from audit.service_layer.commands import ApplicationAt, ExportLog, Report, Verify
from audit.domain.checkpoint import Signer
from audit.service_layer.log import LogKeys
from sangsaeng_common.db import connect
from sangsaeng_common.clock import SeoulClock
from sangsaeng_common.errors import Invalid, NotFound, NotYetKnown
from sangsaeng_common.cli import cli
from sangsaeng_common.runtime import ServiceDefinition
from sangsaeng_common.settings import ServiceSettings

console = Console(stderr=True)
PERIOD_HELP = "YYYYH1, YYYYH2, YYYYQ1..Q4, YYYY-MM or YYYY"


def _with_ledger(work: Callable[[Any], Awaitable[int]]) -> int:
    async def run() -> int:
        settings = ServiceSettings(service_name="audit")  # type: ignore[call-arg]
        conn = await connect(settings.database_url, settings.schema, "audit-cli")
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def _check_period(text: str) -> None:
    try:
        handlers.period_of(text)
    except Invalid as exc:
        raise typer.BadParameter(exc.errors[0][1], param_hint="--period") from None


def app(build: Callable[[], ServiceDefinition], *, settings: AuditSettings, clock: SeoulClock, keys: Callable[[], LogKeys]) -> typer.Typer:
    """The service's command line (from `build`) with the auditors' commands added."""
    commands = cli(build)

    @commands.command()
    def verify() -> None:
        """Check the log (every entry against its leaf, the tree, every signed checkpoint) and the
        cross-service rules; exit 1 on any finding."""

        async def work(conn) -> int:
            result = await handlers.verify(conn, Verify(), limits=settings.program_limits, clock=clock, keys=keys())
            Console().print_json(json.dumps(result, ensure_ascii=False))
            return 0 if result["ok"] else 1

        raise typer.Exit(_with_ledger(work))

    @commands.command()
    def report(
        period: Annotated[str, typer.Option(help=PERIOD_HELP)],
        out: Annotated[Path, typer.Option(help="where the JSON, CSV and PNG files go")] = Path("out/reports"),
        lang: Annotated[str, typer.Option(help="ko (the center's language) or en")] = "ko",
    ) -> None:
        """The center's report for a period: terminal tables, and JSON, CSV and PNG files (in Korean; --lang en: English)."""
        _check_period(period)
        if lang not in render.CSV_HEADERS:
            raise typer.BadParameter("ko or en", param_hint="--lang")

        async def work(conn) -> int:
            result = await handlers.report(conn, Report(period))
            print_report(result, Console(), lang)
            for kind, path in render.write_files(result, out, lang).items():
                console.print(f"{kind}: {path}")
            return 0

        raise typer.Exit(_with_ledger(work))

    @commands.command()
    def export(
        period: Annotated[str | None, typer.Option(help=PERIOD_HELP + " (by business date); none: the whole log")] = None,
        out: Annotated[Path | None, typer.Option(help="the export's directory (default out/ledger-<period>)")] = None,
    ) -> None:
        """Entries' exact bytes with their checkpoints and proofs, for an auditor to verify alone
        (integrations/auditor-verify): manifest.json, entries.jsonl (one entry's exact bytes per
        line) and, for a period, proofs.jsonl (each line's index and inclusion proof) in the directory."""
        if period:
            _check_period(period)
        where = out or Path("out") / f"ledger-{period or 'all'}"

        async def work(conn) -> int:
            try:
                manifest, lines = await handlers.export_log(conn, ExportLog(period), keys())
            except NotYetKnown as exc:
                console.print(exc.detail)
                return 1
            where.mkdir(parents=True, exist_ok=True)
            count = 0
            with (where / "entries.jsonl").open("wb") as entries, (where / "proofs.jsonl").open("w") as proofs:
                async for raw, proof in lines:
                    entries.write(raw + b"\n")  # RFC 8785 JSON never holds a raw newline
                    if proof is not None:
                        proofs.write(json.dumps(proof, separators=(",", ":")) + "\n")
                    count += 1
            if manifest["whole"]:
                (where / "proofs.jsonl").unlink()
            (where / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
            console.print(f"{count} entries of a tree of {manifest['tree_size']} (latest {manifest['consistency']['to']}) in {where}")
            return 0

        raise typer.Exit(_with_ledger(work))

    @commands.command()
    def keygen(
        out: Annotated[Path, typer.Option(help="where the new signing key goes (refused if it exists)")],
        name: Annotated[str | None, typer.Option(help="the key's name (default: the log's origin)")] = None,
    ) -> None:
        """Make a new Ed25519 checkpoint signing key; print its verifier key (what auditors trust)."""
        if out.exists():
            raise typer.BadParameter(f"{out} exists: a signing key is never overwritten", param_hint="--out")
        signer = Signer.generate(name or settings.ledger_origin)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.touch(mode=0o600)
        out.write_text(signer.private_key_text() + "\n")
        print(signer.verifier_key())

    @commands.command("public-key")
    def public_key() -> None:
        """Print the verifier key of the configured signing key (AUDIT_SIGNING_KEY_FILE)."""
        found = keys()
        if found.signer is None:
            console.print("no signing key configured (AUDIT_SIGNING_KEY_FILE)")
            raise typer.Exit(1)
        print(found.signer.verifier_key())

    @commands.command()
    def application(
        application_id: Annotated[str, typer.Argument(help="the loan application's id")],
        at: Annotated[datetime | None, typer.Option(help="the moment (ISO 8601; default now)")] = None,
    ) -> None:
        """A loan application as it was at a moment: its loans events (and guarantee outcome) folded up to then."""

        async def work(conn) -> int:
            try:
                state = await handlers.application_at(conn, ApplicationAt(application_id, at), clock=clock)
            except NotFound as exc:
                console.print(exc.detail)
                return 1
            Console().print_json(json.dumps(state, ensure_ascii=False))
            return 0

        raise typer.Exit(_with_ledger(work))

    @commands.command()
    def replay(
        service: Annotated[list[str] | None, typer.Option(help="a service to rebuild (repeat; default: every one known)")] = None,
        source: Annotated[str, typer.Option(help="ledger (the audit ledger) or kafka (offset zero)")] = "ledger",
        token: Annotated[str | None, typer.Option(envvar="AUDITOR_TOKEN", help="an auditor's token")] = None,
    ) -> None:
        """Ask each service to rebuild its read models and compare them with the live ones; exit 1 on a difference.

        Each service does it itself (its /admin/replay): audit never imports a service."""
        if source not in ("ledger", "kafka"):
            raise typer.BadParameter("ledger or kafka", param_hint="--source")
        if not token:
            raise typer.BadParameter("an auditor's token is needed (--token or AUDITOR_TOKEN)", param_hint="--token")
        urls = settings.service_urls
        names = service or list(urls)
        if unknown := [n for n in names if n not in urls]:
            raise typer.BadParameter(f"no URL for {', '.join(unknown)} (AUDIT_SERVICE_URLS)", param_hint="--service")
        reports: dict[str, Any] = {}
        with httpx.Client(timeout=httpx.Timeout(30.0, read=None)) as client:
            for name in names:
                with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True) as bar:
                    bar.add_task(f"{name} rebuilding from {source}", total=None)
                    response = client.post(f"{urls[name]}/admin/replay", params={"source": source}, headers={"Authorization": f"Bearer {token}"})
                if response.status_code != 200:
                    console.print(f"[red]{name}: {response.status_code} {response.text[:300]}[/red]")
                    reports[name] = {"equal": False, "error": response.status_code}
                    continue
                reports[name] = report_of = response.json()
                console.print(f"{name}: {report_of['events']} events in {report_of['seconds']:.2f} s = {report_of['events_per_second']:,.0f} events/s; "
                              + ("read models equal" if report_of["equal"] else "read models DIFFER"))
        Console().print_json(json.dumps(reports, ensure_ascii=False))
        raise typer.Exit(0 if all(r["equal"] for r in reports.values()) else 1)

    return commands
