from rich.console import Console

from audit.entrypoints.report_tables import print_report

REPORT = {
    "period": "2025H1", "from": "2025-01-01", "until": "2025-07-01",
    "visits": {"recorded": 3, "distinct_shops": 2, "by_dong": {"제기동": 3}, "by_stage": {"closing": 3}, "by_dong_and_stage": {"제기동": {"closing": 3}}},
    "loans": {"applications": 1, "amount_krw": 30_000_000, "by_program": {"bank_cooperation": {"applications": 1, "amount_krw": 30_000_000, "by_status": {"approved": 1}}}},
    "referrals": {"sent": 1, "by_agency": {"SEMAS": {"sent": 1, "by_outcome": {"accepted": 1}}}},
    "monthly": [{"month": "2025-03", "visits": 3, "loan_applications": 1, "referrals": 1}],
}


def test_the_report_renders_every_section():
    console = Console(record=True, width=160)
    print_report(REPORT, console)
    text = console.export_text()
    for expected in ("distinct shops visited", "제기동", "bank_cooperation", "approved", "SEMAS", "accepted", "2025-03", "₩30,000,000"):
        assert expected in text
