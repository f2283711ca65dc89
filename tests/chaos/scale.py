"""How hard the reliability suite pushes.

`make test` runs every test in tests/chaos at its short size; `make chaos` sets
SANGSAENG_CHAOS=full and runs the same tests at full size (issue 9's figures:
20 SIGKILLs, a 30 s broker pause, ...). One switch, so the short and the full run
can never drift apart in what they check — only in how much.
"""

from __future__ import annotations

import os

FULL = os.environ.get("SANGSAENG_CHAOS", "").lower() == "full"


def size(short: int | float, full: int | float):
    """`short` in `make test`, `full` in `make chaos`."""
    return full if FULL else short
