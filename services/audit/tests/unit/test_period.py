from datetime import date

import pytest

from audit.domain.period import parse_period


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025H1", date(2025, 1, 1), date(2025, 7, 1)),
        ("2025H2", date(2025, 7, 1), date(2026, 1, 1)),
        ("2025Q4", date(2025, 10, 1), date(2026, 1, 1)),
        ("2025-12", date(2025, 12, 1), date(2026, 1, 1)),
        ("2025", date(2025, 1, 1), date(2026, 1, 1)),
    ],
)
def test_periods(text, start, end):
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)
    assert start in period and end not in period


def test_half_year_months():
    assert parse_period("2025H1").months() == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]


@pytest.mark.parametrize("text", ["2025H3", "2025Q5", "2025-13", "H1", ""])
def test_bad_periods(text):
    with pytest.raises(ValueError):
        parse_period(text)
