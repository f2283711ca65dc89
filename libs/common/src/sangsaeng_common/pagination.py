"""Keyset pagination for list endpoints whose answer is a JSON array (visits, loans,
referrals): the array stays what it was, the way to the next page travels in headers.

    GET /referrals?agency=SEMAS&limit=100
    200 [ …100 referrals… ]
    Next-Cursor: WyIyMDI1LTA1LTEyVDAwOjAwOjAwKzAwOjAwIiwiMDE5…
    Link: </referrals?agency=SEMAS&limit=100&cursor=WyIy…>; rel="next"

Pass `Next-Cursor` back as `cursor` (or follow `Link`); the last page has neither header.
A cursor is the sort key of the page's last row (opaque, base64 JSON, as in intake's search),
so a page never skips or repeats a row that stays where it was while the client pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Query, Request, Response

from sangsaeng_common.errors import invalid

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"rows per page (at most {MAX_LIMIT}); more pages: see `Next-Cursor`")]
Cursor = Annotated[str | None, Query(description="the previous page's `Next-Cursor` header (or follow its `Link: rel=\"next\"`)")]

# What the OpenAPI says a paged list answers (`responses=PAGED` on the route).
PAGED: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "Next-Cursor": {"schema": {"type": "string"}, "description": "pass as `cursor` for the next page; absent on the last page"},
            "Link": {"schema": {"type": "string"}, "description": "RFC 8288 `<…&cursor=…>; rel=\"next\"`; absent on the last page"},
        }
    }
}


def encode_cursor(*parts: Any) -> str:
    text = [p.isoformat() if isinstance(p, (date, datetime)) else str(p) for p in parts]
    return base64.urlsafe_b64encode(json.dumps(text, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *types: Callable[[str], Any]) -> tuple[Any, ...] | None:
    """The sort key `encode_cursor` was given, each part converted by its type (e.g.
    `datetime.fromisoformat`, `UUID`); None without a cursor; a 422 naming `cursor` for one
    this API did not return."""
    if cursor is None:
        return None
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (isinstance(parts, list) and len(parts) == len(types) and all(isinstance(p, str) for p in parts)):
            raise ValueError(cursor)
        return tuple(convert(part) for convert, part in zip(types, parts, strict=True))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise invalid("cursor", "is not a cursor this API returned") from None


def page(rows: Sequence[T], limit: int, key: Callable[[T], tuple[Any, ...]], request: Request, response: Response) -> list[T]:
    """The first `limit` of `rows` (fetched with `limit + 1`); when there were more, the
    next page's cursor goes into `response`'s headers."""
    shown = list(rows[:limit])
    if len(rows) > limit:
        cursor = encode_cursor(*key(shown[-1]))
        url = request.url.include_query_params(cursor=cursor)
        response.headers["Next-Cursor"] = cursor
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
    return shown


DATETIME, DATE, ID = datetime.fromisoformat, date.fromisoformat, UUID
