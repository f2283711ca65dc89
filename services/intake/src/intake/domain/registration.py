"""Business registration numbers (사업자등록번호) and resident registration numbers."""

from __future__ import annotations

import re

from sangsaeng_common.pii import contains_resident_number  # noqa: F401 - shared with visits; kept importable here

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


class InvalidRegistrationNumber(ValueError):
    pass


def check_digit(first_nine: str) -> int:
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True)) + (digits[8] * 5) // 10
    return (10 - total % 10) % 10


def normalize(value: str) -> str:
    """`220-81-62517` or `2208162517` -> `2208162517`; raises InvalidRegistrationNumber."""
    compact = value.strip()
    if re.fullmatch(r"\d{3}-\d{2}-\d{5}", compact):
        compact = compact.replace("-", "")
    if not re.fullmatch(r"\d{10}", compact):
        raise InvalidRegistrationNumber("must be 10 digits, written XXX-XX-XXXXX or without hyphens")
    if check_digit(compact[:9]) != int(compact[9]):
        raise InvalidRegistrationNumber("check digit does not match")
    return compact


def business_kind(number: str) -> str:
    """What digits 4–5 say about the business."""
    code = int(number[3:5])
    if 1 <= code <= 79:
        return "individual_taxable"
    if 90 <= code <= 99:
        return "individual_vat_exempt"
    return {
        80: "individual_special",
        81: "corporation_head_office",
        86: "corporation_head_office",
        87: "corporation_head_office",
        88: "corporation_head_office",
        82: "non_profit_corporation",
        83: "government_body",
        84: "foreign_corporation",
        85: "corporation_branch",
        89: "religious_body",
    }.get(code, "unknown")
