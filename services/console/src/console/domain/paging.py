"""Keyset paging as the console shows it: the services hand back a `next` cursor; the console keeps the
cursors of the pages before in the query string so that "이전" works without server state."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

FIRST = "-"  # the first page's place in a trail (it has no cursor)
MAX_TRAIL = 50  # cursors kept for "previous" (deeper than that, start again)


@dataclass(frozen=True)
class Pager:
    page: int  # 1-based
    next_url: str | None
    previous_url: str | None


def pager(path: str, filters: dict[str, str], trail: list[str], cursor: str | None, next_cursor: str | None) -> Pager:
    """`trail`: cursors of the pages before this one (oldest first); `cursor`: this page's."""
    clean = {k: v for k, v in filters.items() if v}

    def url(cur: str | None, tr: list[str]) -> str:
        query = dict(clean)
        if cur:
            query["cursor"] = cur
        if tr:
            query["trail"] = ",".join(tr[-MAX_TRAIL:])
        return f"{path}?{urlencode(query)}" if query else path

    next_url = url(next_cursor, [*trail, cursor or FIRST]) if next_cursor else None
    previous_url = None
    if cursor:
        before = trail[-1] if trail else FIRST
        previous_url = url(None if before == FIRST else before, trail[:-1])
    return Pager(page=len(trail) + 1 if cursor else 1, next_url=next_url, previous_url=previous_url)


def parse_trail(value: str | None) -> list[str]:
    return [c for c in value.split(",") if c][-MAX_TRAIL:] if value else []
