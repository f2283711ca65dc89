from rich.console import Console

from audit.entrypoints.report_tables import print_report

REPORT = {
    "period": "2025H1", "from": "2025-01-01", "until": "2025-07-01",
    "visits": {"recorded": 3, "distinct_shops": 2, "by_dong": {"제기동": 3}, "by_stage": {"closing": 3}, "by_dong_and_stage": {"제기동": {"closing": 3}}},
    "loans": {"applications": 1, "amount_krw": 30_000_000, "by_program": {"bank_cooperation": {"applications": 1, "amount_krw": 30_000_000, "by_status": {"approved": 1}}},
              "book": {"until": "2025-07-01", "outstanding_principal_krw": 25_000_000,
                       "by_program": {"sme_development_fund": {"outstanding_principal_krw": 25_000_000, "loans_outstanding": 1,
                                                               "principal_repaid_krw": 5_000_000, "loans_with_missed_instalments": 1}}}},
    "referrals": {"sent": 1, "by_agency": {"SEMAS": {"sent": 1, "by_outcome": {"accepted": 1}}}},
    "monthly": [{"month": "2025-03", "visits": 3, "loan_applications": 1, "referrals": 1}],
}


def test_the_report_renders_every_section():
    console = Console(record=True, width=160)
    print_report(REPORT, console, lang="en")
    text = console.export_text()
    for expected in ("distinct shops visited", "제기동", "bank_cooperation", "approved", "SEMAS", "accepted", "2025-03", "₩30,000,000",
                     "loan principal outstanding at 2025-07-01", "sme_development_fund: 1 loans, 1 with a missed instalment", "₩25,000,000"):
        assert expected in text


def test_the_report_speaks_korean_by_default_in_the_terminal_the_csv_and_the_chart(tmp_path):
    from audit.entrypoints.render import write_files

    console = Console(record=True, width=160)
    print_report(REPORT, console)
    text = console.export_text()
    for expected in ("방문한 업체 수", "융자 신청", "연계 의뢰", "월별 활동", "제기동", "bank_cooperation", "₩30,000,000", "융자 잔액 (2025-07-01 기준)"):
        assert expected in text
    assert "distinct shops visited" not in text
    paths = write_files(REPORT, tmp_path)
    assert paths["csv"].read_text().splitlines()[0] == "기간,구분,그룹,항목,값"
    assert "2025H1,loans_by_program,bank_cooperation,applications,1" in paths["csv"].read_text()  # the codes stay
    assert "2025H1,loan_book,sme_development_fund,outstanding_principal_krw,25000000" in paths["csv"].read_text()
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert write_files(REPORT, tmp_path / "en", lang="en")["csv"].read_text().startswith("period,section,group,item,value")
