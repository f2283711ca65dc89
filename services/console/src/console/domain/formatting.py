"""Korean formatting of dates and amounts (no I/O)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
_WEEKDAYS = "월화수목금토일"


def _as_date(value: date | datetime | str | None) -> date | datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.replace("Z", "+00:00")
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    return value


def korean_date(value: date | datetime | str | None, *, weekday: bool = False) -> str:
    """2025-05-12 → 2025년 5월 12일 (optionally with (월)); a datetime is shown in Seoul's calendar."""
    day = _as_date(value)
    if day is None:
        return "—"
    if isinstance(day, datetime):
        day = (day.astimezone(SEOUL) if day.tzinfo else day).date()
    text = f"{day.year}년 {day.month}월 {day.day}일"
    return f"{text} ({_WEEKDAYS[day.weekday()]})" if weekday else text


def korean_datetime(value: datetime | str | None, *, seconds: bool = False) -> str:
    """A moment in Seoul's time: 2025년 5월 12일 14:05 (with `seconds`, 14:05:09)."""
    moment = _as_date(value)
    if moment is None:
        return "—"
    if not isinstance(moment, datetime):
        return korean_date(moment)
    local = moment.astimezone(SEOUL) if moment.tzinfo else moment
    return f"{korean_date(local)} {local:%H:%M:%S}" if seconds else f"{korean_date(local)} {local:%H:%M}"


def won(amount: int | None) -> str:
    """30000000 → ₩30,000,000."""
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}₩{abs(int(amount)):,}"


def won_short(amount: int | None) -> str:
    """Spoken Korean amounts: 30,000,000 → 3천만원; 125,000,000 → 1억 2천5백만원; 1,500 → 1,500원."""
    if amount is None:
        return "—"
    amount = int(amount)
    if amount < 0:
        return "-" + won_short(-amount)
    if amount == 0:
        return "0원"
    if amount < 10_000:
        return f"{amount:,}원"
    eok, rest = divmod(amount, 100_000_000)
    man, below = divmod(rest, 10_000)
    parts = []
    if eok:
        parts.append(f"{eok:,}억")
    if man:
        parts.append(_thousands(man) + "만")
    text = " ".join(parts)
    if below:
        text += f" {below:,}"
    return text + "원"


def _thousands(n: int) -> str:
    """1..9999 in 천/백/십 units: 3000 → 3천, 2500 → 2천5백, 1234 → 1천2백3십4."""
    out = ""
    for unit, name in ((1000, "천"), (100, "백"), (10, "십")):
        digit, n = divmod(n, unit)
        if digit:
            out += f"{digit}{name}"
    if n:
        out += str(n)
    return out


def registration_number(number: str | None) -> str:
    """2208162517 → 220-81-62517."""
    if not number:
        return "—"
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}" if len(digits) == 10 else number


def percent(part: int, whole: int) -> int:
    """Whole percent of part in whole (0..100), for bars."""
    if whole <= 0:
        return 0
    return max(0, min(100, round(100 * part / whole)))
