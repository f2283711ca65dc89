"""``sangsaeng-demo run``: the center's H1 2025 through the real APIs (``make demo``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from audit.entrypoints.report_tables import print_report
from sangsaeng_devstack.interrupt import run_interruptibly

from .client import SERVICES, Api, DemoError, IssuerTokens, TokenSource, services_ready
from .plan import Plan, make_plan
from .simulate import PERIOD, Result, Simulation

app = typer.Typer(
    name="sangsaeng-demo",
    help="Simulate the center's H1 2025 through the services' HTTP APIs and print the half-year report.",
    add_completion=False,
    no_args_is_help=True,
)
console = Console()

DEFAULT_PORTS = {"intake": 8001, "visits": 8002, "loans": 8003, "referrals": 8004, "audit": 8005, "districts": 8007}
CENTER = {"distinct_shops": 4500, "bank_cooperation": 118, "sme_development_fund": 130, "applications": 248}


@app.callback()
def _main() -> None:
    """Sangsaeng demo."""


def _url_option(service: str) -> object:
    return typer.Option(f"--base-url-{service}", help=f"{service} API (default http://127.0.0.1:{DEFAULT_PORTS[service]})")


@app.command()
def run(
    seed: Annotated[int, typer.Option(help="Seed of the simulated half-year: the same seed, the same half-year.")] = 2025,
    shops: Annotated[int, typer.Option(help="Distinct shops visited in H1.")] = 4500,
    bank: Annotated[int, typer.Option(help="Bank-cooperation fund applications.")] = 118,
    fund: Annotated[int, typer.Option(help="SME development fund applications.")] = 130,
    concurrency: Annotated[int, typer.Option(help="HTTP requests in flight at once.")] = 48,
    base_url_intake: Annotated[str | None, _url_option("intake")] = None,
    base_url_visits: Annotated[str | None, _url_option("visits")] = None,
    base_url_loans: Annotated[str | None, _url_option("loans")] = None,
    base_url_referrals: Annotated[str | None, _url_option("referrals")] = None,
    base_url_audit: Annotated[str | None, _url_option("audit")] = None,
    base_url_districts: Annotated[str | None, _url_option("districts")] = None,
    log_dir: Annotated[Path, typer.Option(help="Logs of a stack the demo starts itself.")] = Path(".devstack/demo-logs"),
    wait_timeout: Annotated[float, typer.Option(help="Seconds to wait for any asynchronous step.")] = 180.0,
) -> None:
    """Run the simulation against `make run`'s services if they answer, else against a stack it starts and stops."""
    started = time.monotonic()
    given = {"intake": base_url_intake, "visits": base_url_visits, "loans": base_url_loans,
             "referrals": base_url_referrals, "audit": base_url_audit, "districts": base_url_districts}
    urls = {s: (given[s] or f"http://127.0.0.1:{DEFAULT_PORTS[s]}").rstrip("/") for s in SERVICES}
    stack = None
    try:
        if run_interruptibly(services_ready(urls)):
            console.print(f"using the running services ({urls['intake']} …)")
        elif any(given.values()):
            raise DemoError(f"the services given do not all answer /ready: {urls}")
        else:
            stack = _start_stack(log_dir)
            urls = stack.urls()
        plan = make_plan(seed, shops=shops, bank=bank, fund=fund)
        console.print(
            f"seed {seed}: {plan.visited_shops:,} shops to visit ({plan.visits:,} visits), "
            f"{len(plan.loans)} loan applications ({plan.count('bank_cooperation')} bank cooperation, "
            f"{plan.count('sme_development_fund')} development fund)"
        )
        tokens = IssuerTokens(stack.auth_env["AUTH_ISSUER"], IssuerTokens.from_env().password) if stack is not None else None
        result = run_interruptibly(simulate(urls, plan, concurrency, wait_timeout, tokens=tokens))
    except DemoError as exc:
        console.print(f"[bold red]demo failed:[/] {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("interrupted.")
        raise typer.Exit(130) from None
    finally:
        if stack is not None:
            with console.status("stopping the demo's stack..."):
                stack.stop()
    wall = time.monotonic() - started
    _conclude(result, wall, shops == CENTER["distinct_shops"] and bank == CENTER["bank_cooperation"] and fund == CENTER["sme_development_fund"])
    if not result.ok:
        raise typer.Exit(1)


def _start_stack(log_dir: Path):
    from sangsaeng_devstack.stack import DevStack, runnable_services

    services = runnable_services({s: 0 for s in SERVICES})
    missing = [s for s in SERVICES if s not in services]
    if missing:
        raise DemoError(f"cannot start the stack: not installed {', '.join(missing)}")
    from sangsaeng_devstack._util import free_port

    stack = DevStack(services={s: free_port() for s in SERVICES}, broker_port=0, issuer_port=0, log_dir=log_dir)
    begun = time.monotonic()
    with console.status("no services answer on 8001..8007: starting broker, PostgreSQL and the services..."):
        try:
            run_interruptibly(stack.start())
        except BaseException as exc:
            stack.stop()
            if isinstance(exc, Exception):
                raise DemoError(f"the stack did not start: {exc}") from None
            raise
    console.print(f"started the demo's own stack in {time.monotonic() - begun:.1f}s (logs in {log_dir}); it stops at the end")
    return stack


async def simulate(
    urls: dict[str, str], plan: Plan, concurrency: int = 48, wait_timeout: float = 180.0, *,
    tokens: TokenSource | None = None, show_progress: bool = True,
) -> Result:
    """Play `plan` through the services at `urls`; `tokens` gives each subject's bearer token
    (default: the password grant at AUTH_ISSUER, else at `make run`'s local issuer)."""
    api = Api(urls, tokens or IssuerTokens.from_env(), concurrency=concurrency)
    try:
        if show_progress:
            columns = (SpinnerColumn(), TextColumn("{task.description:<42}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console) as progress:
                return await Simulation(api, plan, progress, wait_timeout=wait_timeout).run_all()
        return await Simulation(api, plan, None, wait_timeout=wait_timeout).run_all()
    finally:
        await api.aclose()


def _conclude(result: Result, wall: float, center_sizes: bool) -> None:
    print_report(result.report, console)
    f = result.figures
    console.print(
        f"figures: [bold]{f['distinct_shops']:,}[/] distinct shops visited / [bold]{f['bank_cooperation']}[/] bank cooperation / "
        f"[bold]{f['sme_development_fund']}[/] development fund / [bold]{f['applications']}[/] applications"
        + (" — the center's own figures" if center_sizes and not any(result.baseline.values()) and result.ok else "")
    )
    if any(result.baseline.values()):
        console.print(f"[dim](the system already held {result.baseline} for {PERIOD}: the expected figures include it)[/]")
    if result.loan_outcomes:
        console.print("loans: " + ", ".join(f"{k} {v}" for k, v in sorted(result.loan_outcomes.items())))
    if result.repayments:
        r = result.repayments
        console.print("repayments: " + ", ".join(f"{k} {v}" for k, v in sorted(r["recorded"].items()))
                      + f"; loans with a missed instalment {sum(r['loans_late'].values())}; desk requests "
                      + ", ".join(f"{k} {v}" for k, v in sorted(r["desk"].items())) + f"; details changed {r['details_changed']}")
    if result.by_person:
        _print_people(result.by_person)
    findings = result.verify.get("rules", {}).get("findings", [])
    ledger = result.verify.get("log", {})
    verdict = "[bold green]ok[/]" if result.verify.get("ok") else "[bold red]NOT ok[/]"
    console.print(f"verify: {verdict} — {ledger.get('entries_checked', 0):,} log entries, "
                  f"{result.verify.get('rules', {}).get('events_checked', 0):,} events checked, {len(findings)} finding(s)")
    for finding in findings[:10]:
        console.print(f"  [red]{finding.get('rule')}[/]: {finding.get('detail')}")
    for problem in result.problems:
        console.print(f"[bold red]problem:[/] {problem}")
    console.print(f"[bold]demo wall time: {wall:.1f}s[/] ({result.requests:,} HTTP requests, {result.requests / wall:.0f}/s)")


def _print_people(by_person: dict) -> None:
    """What the half-year recorded per person: the audit log's events by their actor (ce_actor);
    `-` is what no person caused (a consumer's own timers, such as the arrears sweeper)."""
    table = Table(title="events per person (audit log, this run)", title_justify="left")
    table.add_column("person")
    table.add_column("events", justify="right")
    table.add_column("most recorded")
    for person, names in sorted(by_person.items(), key=lambda item: (-sum(item[1].values()), item[0])):
        table.add_row(person, f"{sum(names.values()):,}", ", ".join(f"{n} {c:,}" for n, c in names.most_common(3)))
    console.print(table)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
