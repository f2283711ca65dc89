"""The center's report for a period (the JSON of audit's GET /reports/{period}) as terminal
tables: one rendering for the audit command line and for `make demo`."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    visits, loans, referrals = report["visits"], report["loans"], report["referrals"]
    summary = Table(title=f"Sangsaeng — {report['period']} ({report['from']} – {report['until']}), from the audit ledger",
                    title_justify="left")
    summary.add_column("what")
    summary.add_column("count", justify="right")
    summary.add_row("[bold]distinct shops visited[/]", f"[bold]{visits['distinct_shops']:,}[/]")
    summary.add_row("visits recorded", f"{visits['recorded']:,}")
    summary.add_row("[bold]loan applications[/]", f"[bold]{loans['applications']:,}[/]  (₩{loans['amount_krw']:,})")
    for program, p in loans["by_program"].items():
        summary.add_row(f"  {program}", f"{p['applications']:,}  (₩{p['amount_krw']:,})")
    summary.add_row("referrals sent", f"{referrals['sent']:,}")
    console.print(summary)

    stages = sorted({s for by_stage in visits["by_dong_and_stage"].values() for s in by_stage})
    dongs = Table(title="Visits by dong and stage observed", title_justify="left")
    dongs.add_column("dong")
    for stage in stages:
        dongs.add_column(stage, justify="right")
    dongs.add_column("total", justify="right")
    for dong, by_stage in visits["by_dong_and_stage"].items():
        dongs.add_row(dong, *(f"{by_stage.get(s, 0):,}" for s in stages), f"{visits['by_dong'].get(dong, 0):,}")
    console.print(dongs)

    console.print(_counts_by("Loan applications by program and status (last event)", ("program", "status", "applications"),
                             {program: p["by_status"] for program, p in loans["by_program"].items()}))
    if referrals["by_agency"]:
        console.print(_counts_by("Referrals sent by agency and outcome", ("agency", "outcome", "referrals"),
                                 {agency: a["by_outcome"] for agency, a in referrals["by_agency"].items()}))

    districts = report.get("districts")
    if districts:
        table = Table(title=f"Alley-type shopping districts (골목형상점가): {districts['designated']} designated, "
                            f"{districts['member_stores']:,} member stores; contests: {districts['contest_entries']} entries, "
                            f"{districts['contest_awards']} awarded ₩{districts['awarded_krw']:,}", title_justify="left")
        for column in ("district", "designated on", "member stores", "온누리 merchants"):
            table.add_column(column, justify="left" if column in ("district", "designated on") else "right")
        for d in districts["districts"]:
            table.add_row(d["name"], d["designated_on"], f"{d['member_stores']:,}", f"{d['onnuri_merchants']:,}")
        console.print(table)

    monthly = Table(title="Month by month", title_justify="left")
    for column in ("month", "visits", "loan applications", "referrals"):
        monthly.add_column(column, justify="right" if column != "month" else "left")
    for m in report["monthly"]:
        monthly.add_row(m["month"], f"{m['visits']:,}", f"{m['loan_applications']:,}", f"{m['referrals']:,}")
    console.print(monthly)


def _counts_by(title: str, columns: tuple[str, str, str], counts: dict[str, dict[str, int]]) -> Table:
    """A count per (group, item): one row each, the count right-aligned."""
    table = Table(title=title, title_justify="left")
    table.add_column(columns[0])
    table.add_column(columns[1])
    table.add_column(columns[2], justify="right")
    for group, by_item in counts.items():
        for item, n in by_item.items():
            table.add_row(group, item, f"{n:,}")
    return table
