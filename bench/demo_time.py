"""`make demo`: the whole half-year (4,500 shops, 118 + 130 = 248 loan applications) through
the real HTTP APIs on a stack of its own, with its wall time and the CPU it took.

    .venv/bin/python bench/demo_time.py [--quick]

Runs `sangsaeng-demo run` as `make demo` does (it starts and stops its own broker,
PostgreSQL and five services, since nothing answers on 8001..8005 — unless `make run` is up,
which it then uses) and counts it only if it exits 0: the figures exactly 4,500 / 118 / 130 /
248 and GET /verify ok. CPU is user + system of the demo and every process it waited for
(the services and the broker; PostgreSQL's server processes are not its children).
--quick runs 1,000 shops (30 + 30 applications) instead; the target is judged on the whole run only.
"""

from __future__ import annotations

import asyncio
import re
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _row import Row  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WHAT = "`make demo` (the whole half-year)"
TARGET_S = 60.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def measure(quick: bool) -> list[Row]:
    args = ["--shops", "1000", "--bank", "30", "--fund", "30"] if quick else []
    cpu_before, started = _children_cpu(), time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv/bin/sangsaeng-demo"), "run", *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    text = output.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"the demo failed (exit {process.returncode}):\n{text[-3000:]}")
    found = re.search(r"demo wall time: ([\d.]+)s \(([\d,]+) HTTP requests", text)
    requests = int(found.group(2).replace(",", "")) if found else 0
    shops = "1,000 shops (quick)" if quick else "4,500 shops, 248 applications, verify ok"
    figure = f"{wall:.1f} s wall, {cpu:.0f} s CPU ({shops})"
    note = f"{requests:,} HTTP requests; CPU-bound on 2 cores: CPU/wall {cpu / wall:.2f}"
    if quick:
        note += "; the target is judged on the whole half-year only"
    return [Row(WHAT, figure, "—", None, f"< {TARGET_S:.0f} s", not quick and wall < TARGET_S, note)]


if __name__ == "__main__":
    from _standalone import main

    main(measure)
