"""Personal data that must never be stored: one check, shared by every service that takes free text."""

from __future__ import annotations

import re
from collections.abc import Mapping

# 주민등록번호: YYMMDD-NNNNNNN (the hyphen may be a space or missing); the first digit
# of the second half is 1-8 (century and sex, including foreigners' 5-8).
_RESIDENT_NUMBER = re.compile(r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[- ]?[1-8]\d{6}(?!\d)")


def contains_resident_number(text: str) -> bool:
    """True if `text` holds something shaped like a resident registration number (YYMMDD-NNNNNNN)."""
    return bool(_RESIDENT_NUMBER.search(text))


RESIDENT_NUMBER_REFUSED = "contains a resident registration number (주민등록번호), which is never stored"


def refuse_resident_numbers(fields: Mapping[str, object]) -> None:
    """Raise `Invalid` naming every text field that holds a resident registration number.

    Called from the service layer only (the one layer every command passes, whether it
    came over HTTP or from an event). `fields` maps a field's name, as the caller's input
    names it (e.g. "follow_ups[0].action"), to its value; values that are not text are skipped."""
    from sangsaeng_common.errors import Invalid

    found = [(name, RESIDENT_NUMBER_REFUSED) for name, value in fields.items() if isinstance(value, str) and contains_resident_number(value)]
    if found:
        raise Invalid(found)
