"""The center's report for a period (the JSON of audit's GET /reports/{period}) as terminal
tables: one rendering for the audit command line and for `make demo`. In Korean, the center's
language (`lang="en"`: English); the codes in the report (programs, statuses, agencies) stay
as they are, so a table and the JSON/CSV name the same things."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Sangsaeng — {period} ({start} – {until}), from the audit ledger", "what": "what", "count": "count",
        "shops": "distinct shops visited", "visits": "visits recorded", "applications": "loan applications", "referrals": "referrals sent",
        "by_dong": "Visits by dong and stage observed", "dong": "dong", "total": "total",
        "by_program": "Loan applications by program and status (last event)", "program": "program", "status": "status",
        "by_agency": "Referrals sent by agency and outcome", "agency": "agency", "outcome": "outcome",
        "districts": "Alley-type shopping districts (골목형상점가): {designated} designated, {members} member stores; contests: {entries} entries, {awards} awarded ₩{krw}",
        "district": "district", "designated_on": "designated on", "member_stores": "member stores", "onnuri": "온누리 merchants",
        "monthly": "Month by month", "month": "month",
        "book": "loan principal outstanding at {until}", "book_program": "  {program}: {loans} loans, {missed} with a missed instalment",
    },
    "ko": {
        "title": "상생 — {period} ({start} – {until}), 감사 원장 기준", "what": "항목", "count": "건수",
        "shops": "방문한 업체 수", "visits": "기록된 방문", "applications": "융자 신청", "referrals": "연계 의뢰",
        "by_dong": "동별·관찰 단계별 방문", "dong": "행정동", "total": "합계",
        "by_program": "자금별·상태별 융자 신청 (마지막 이벤트 기준)", "program": "자금", "status": "상태",
        "by_agency": "기관별·결과별 연계 의뢰", "agency": "기관", "outcome": "결과",
        "districts": "골목형상점가: 지정 {designated}곳, 회원 점포 {members}곳; 공모: 참가 {entries}건, 선정 {awards}건 ₩{krw}",
        "district": "상점가", "designated_on": "지정일", "member_stores": "회원 점포", "onnuri": "온누리상품권 가맹",
        "monthly": "월별 활동", "month": "월",
        "book": "융자 잔액 ({until} 기준)", "book_program": "  {program}: {loans}건, 연체 발생 {missed}건",
    },
}


def labels(lang: str) -> dict[str, str]:
    if lang not in LABELS:
        raise ValueError(f"the report speaks {', '.join(LABELS)}, not {lang!r}")
    return LABELS[lang]


def print_report(report: dict[str, Any], console: Console | None = None, lang: str = "ko") -> None:
    console = console or Console()
    t = labels(lang)
    visits, loans, referrals = report["visits"], report["loans"], report["referrals"]
    summary = Table(title=t["title"].format(period=report["period"], start=report["from"], until=report["until"]), title_justify="left")
    summary.add_column(t["what"])
    summary.add_column(t["count"], justify="right")
    summary.add_row(f"[bold]{t['shops']}[/]", f"[bold]{visits['distinct_shops']:,}[/]")
    summary.add_row(t["visits"], f"{visits['recorded']:,}")
    summary.add_row(f"[bold]{t['applications']}[/]", f"[bold]{loans['applications']:,}[/]  (₩{loans['amount_krw']:,})")
    for program, p in loans["by_program"].items():
        summary.add_row(f"  {program}", f"{p['applications']:,}  (₩{p['amount_krw']:,})")
    if book := loans.get("book"):
        summary.add_row(t["book"].format(until=book["until"]), f"₩{book['outstanding_principal_krw']:,}")
        for program, b in book["by_program"].items():
            summary.add_row(t["book_program"].format(program=program, loans=f"{b['loans_outstanding']:,}", missed=f"{b['loans_with_missed_instalments']:,}"),
                            f"₩{b['outstanding_principal_krw']:,}")
    summary.add_row(t["referrals"], f"{referrals['sent']:,}")
    console.print(summary)

    stages = sorted({s for by_stage in visits["by_dong_and_stage"].values() for s in by_stage})
    dongs = Table(title=t["by_dong"], title_justify="left")
    dongs.add_column(t["dong"])
    for stage in stages:
        dongs.add_column(stage, justify="right")
    dongs.add_column(t["total"], justify="right")
    for dong, by_stage in visits["by_dong_and_stage"].items():
        dongs.add_row(dong, *(f"{by_stage.get(s, 0):,}" for s in stages), f"{visits['by_dong'].get(dong, 0):,}")
    console.print(dongs)

    console.print(_counts_by(t["by_program"], (t["program"], t["status"], t["applications"]),
                             {program: p["by_status"] for program, p in loans["by_program"].items()}))
    if referrals["by_agency"]:
        console.print(_counts_by(t["by_agency"], (t["agency"], t["outcome"], t["referrals"]),
                                 {agency: a["by_outcome"] for agency, a in referrals["by_agency"].items()}))

    districts = report.get("districts")
    if districts:
        table = Table(title=t["districts"].format(designated=districts["designated"], members=f"{districts['member_stores']:,}",
                                                  entries=districts["contest_entries"], awards=districts["contest_awards"],
                                                  krw=f"{districts['awarded_krw']:,}"), title_justify="left")
        for column in ("district", "designated_on", "member_stores", "onnuri"):
            table.add_column(t[column], justify="left" if column in ("district", "designated_on") else "right")
        for d in districts["districts"]:
            table.add_row(d["name"], d["designated_on"], f"{d['member_stores']:,}", f"{d['onnuri_merchants']:,}")
        console.print(table)

    monthly = Table(title=t["monthly"], title_justify="left")
    for column in ("month", "visits", "applications", "referrals"):
        monthly.add_column(t[column], justify="right" if column != "month" else "left")
    for m in report["monthly"]:
        monthly.add_row(m["month"], f"{m['visits']:,}", f"{m['loan_applications']:,}", f"{m['referrals']:,}")
    console.print(monthly)


def _counts_by(title: str, columns: tuple[str, str, str], counts: dict[str, dict[str, int]]) -> Table:
    """A count per (group, item): one row each, the count right-aligned."""
    table = Table(title=title, title_justify="left")
    table.add_column(columns[0])
    table.add_column(columns[1])
    table.add_column(columns[2], justify="right")
    for group, by_item in counts.items():
        for item, n in by_item.items():
            table.add_row(group, item, f"{n:,}")
    return table
