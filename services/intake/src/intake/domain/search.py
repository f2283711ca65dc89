"""Finding businesses by name: Korean trade names are matched ignoring spaces and case.

`businesses.name_key` holds the name with whitespace removed and lower-cased (a stored
generated column), so "바른 분식", "바른분식" and "BARUN" find "동대문 바른분식" / "Barun 분식".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sangsaeng_common.contracts.intake import Stage

_SPACES = re.compile(r"\s+")


def name_key(text: str) -> str:
    """What `businesses.name_key` holds for a name (keep in step with migration 0002)."""
    return _SPACES.sub("", text).lower()


def name_pattern(query: str) -> str | None:
    """The LIKE pattern (escape character `\\`) that finds `query` anywhere in a name key,
    or None if the query has nothing to search for."""
    key = name_key(query)
    if not key:
        return None
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class BusinessSearch:
    """What a search of businesses asks for: filters that combine (AND), and a page."""

    dong: str | None
    stage: Stage | None
    industry: str | None
    q: str | None  # part of the trade name
    registration_number: str | None
    limit: int
    cursor: str | None

    def with_number(self, registration_number: str) -> BusinessSearch:
        return replace(self, registration_number=registration_number)
