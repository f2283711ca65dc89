"""A small SVG flame graph from py-spy's raw (collapsed) stacks, cut to the frames under one
function: the bench's own set-up (filling the topic, the raw baseline, imports) left out.

    py-spy record -r 200 -f raw -o /tmp/consumer.txt -- .venv/bin/python bench/consumer_pipeline.py
    .venv/bin/python bench/flamegraph.py /tmp/consumer.txt 'sangsaeng_common/consumer.py' bench/flamegraphs/consumer-after.svg

The root is the outermost frame of each stack whose text contains ROOT (or one of ROOT's
`|`-separated parts: an asyncio task's stack starts at the event loop, not under its creator); frames narrower than
0.3 % of the samples are dropped (that keeps the file small). Hover a frame for its share.
"""

from __future__ import annotations

import html
import re
import sys
from collections import defaultdict

WIDTH, ROW, MIN_SHARE = 1200, 16, 0.003


def _tree(lines: list[str], root: str) -> tuple[dict, int]:
    tree: dict = {}
    total = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        start = next((i for i, f in enumerate(frames) if any(r in f for r in root.split("|"))), None)
        if start is None:
            continue
        n = int(count)
        total += n
        node = tree
        for frame in frames[start:]:
            entry = node.setdefault(frame, [0, {}])
            entry[0] += n
            node = entry[1]
    return tree, total


def _rects(tree: dict, total: int, x: float, depth: int, out: list[str]) -> int:
    deepest = depth
    for frame, (n, children) in sorted(tree.items()):
        if n / total < MIN_SHARE:
            x += n / total * WIDTH
            continue
        w = n / total * WIDTH
        hue = 20 + (hash(frame.split(" (")[-1]) % 40)
        label = html.escape(frame)
        out.append(f'<g><title>{label} — {100 * n / total:.1f} %</title><rect x="{x:.1f}" y="{{y{depth}}}" width="{w:.1f}" height="{ROW - 1}" '
                   f'fill="hsl({hue},80%,60%)"/>'
                   + (f'<text x="{x + 2:.1f}" y="{{t{depth}}}" font-size="11">{html.escape(frame[: int(w / 7)])}</text>' if w > 30 else "")
                   + "</g>")
        deepest = max(deepest, _rects(children, total, x, depth + 1, out))
        x += w
    return deepest


def main(raw: str, root: str, svg: str) -> None:
    with open(raw) as f:
        tree, total = _tree(f.read().splitlines(), root)
    if not total:
        raise SystemExit(f"no stack passes through {root!r}")
    rects: list[str] = []
    depth = _rects(tree, total, 0.0, 0, rects)
    height = (depth + 2) * ROW + 20
    ys = defaultdict(str)
    for d in range(depth + 1):
        ys[f"y{d}"] = str(height - (d + 1) * ROW)
        ys[f"t{d}"] = str(height - (d + 1) * ROW + 12)
    body = "\n".join(r.format_map(ys) for r in rects)
    with open(svg, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="monospace">\n'
                f'<text x="4" y="14" font-size="12">{html.escape(raw.rsplit("/", 1)[-1])}: {total} samples under {html.escape(root)}</text>\n'
                f"{body}\n</svg>\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
