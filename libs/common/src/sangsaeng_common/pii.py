"""Personal data that must never be stored: one check, shared by every service that takes free text."""

from __future__ import annotations

import re

# 주민등록번호: YYMMDD-NNNNNNN (the hyphen may be a space or missing); the first digit
# of the second half is 1-8 (century and sex, including foreigners' 5-8).
_RESIDENT_NUMBER = re.compile(r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[- ]?[1-8]\d{6}(?!\d)")


def contains_resident_number(text: str) -> bool:
    """True if `text` holds something shaped like a resident registration number (YYMMDD-NNNNNNN)."""
    return bool(_RESIDENT_NUMBER.search(text))
