"""Run one benchmark module alone: `python bench/<module>.py [--quick]` prints its rows."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from _row import Row


def main(measure: Callable[[bool], Awaitable[list[Row]]]) -> None:
    for row in asyncio.run(measure("--quick" in sys.argv[1:])):
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        print(f"{row.what}\n  figure    {row.figure}\n  baseline  {row.baseline}\n"
              f"  ratio     {ratio} (target {row.target}: {'met' if row.met else 'NOT met'})\n  note      {row.note}")
