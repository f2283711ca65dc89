"""One row of `make bench`'s table.

Every benchmark module in bench/ exposes `async def measure(quick: bool) -> list[Row]`;
bench/run.py calls them in order and prints one table. Each figure is compared with a raw
baseline measured in the same run, because absolute times vary from machine to machine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    what: str  # e.g. "outbox relay: rows committed → published and marked"
    figure: str  # what Sangsaeng achieved, with its unit: "18,200 events/s", "p99 21 ms"
    baseline: str  # the raw baseline in the same run, or "—"
    ratio: float | None  # figure / baseline where the target is a ratio, else None
    target: str  # the target, e.g. "≥ 0.5×", "p99 < 25 ms"
    met: bool  # whether the target was met in this run
    note: str = ""  # what limits it, when it matters
