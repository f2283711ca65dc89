"""The business registration number's check digit (사업자등록번호 검증), as the browser and intake check it."""

from __future__ import annotations

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def registration_problem(number: str) -> str | None:
    """None if `number` is a well-formed registration number, else the mistake in Korean."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if any(ch not in "0123456789- " for ch in number):
        return "숫자와 '-'만 쓸 수 있습니다"
    if len(digits) != 10:
        return f"숫자 10자리여야 합니다 (지금 {len(digits)}자리)"
    total = sum(int(d) * w for d, w in zip(digits[:9], _WEIGHTS, strict=True))
    total += int(digits[8]) * 5 // 10
    check = (10 - total % 10) % 10
    if check != int(digits[9]):
        return f"검증번호가 맞지 않습니다 (마지막 자리는 {check}이어야 합니다)"
    return None
