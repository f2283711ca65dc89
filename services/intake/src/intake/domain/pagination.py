"""Opaque cursors for keyset pagination: the position after the last item of a page."""

from __future__ import annotations

import base64
import binascii
import json

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidCursor(ValueError):
    pass


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    """The parts `encode_cursor` was given; InvalidCursor if `cursor` is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("not a cursor this API returned") from exc
    if not (isinstance(decoded, list) and len(decoded) == parts and all(isinstance(p, str) for p in decoded)):
        raise InvalidCursor("not a cursor this API returned")
    return decoded
