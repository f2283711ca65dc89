"""Both rows from one run, as `bench/replay.py` runs them (the live pipeline, then the replay over
the same topic), printing each: for paired before/after runs and for profiling both at once.

    .venv/bin/python bench/pipeline_and_replay.py [--quick]
    PYTHONPATH=/tmp/before/libs/common/src:/tmp/before/services/visits/src .venv/bin/python bench/pipeline_and_replay.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from consumer_pipeline import pipeline_run  # noqa: E402
from replay import replay  # noqa: E402


async def main(quick: bool) -> None:
    import sangsaeng_common

    async with pipeline_run(quick) as run:
        rebuilt, equal = await replay(run.dsn, run.bootstrap)
    print(f"code from {Path(sangsaeng_common.__file__).parent}")
    print(f"raw consume + decode  {run.raw.describe()}")
    print(f"consumer pipeline     {run.pipeline.describe()}  {run.pipeline.per_second / run.raw.per_second:.3f}×")
    print(f"replay                {rebuilt.describe()}  {rebuilt.per_second / run.raw.per_second:.3f}×  equal={equal}")


if __name__ == "__main__":
    asyncio.run(main("--quick" in sys.argv[1:]))
