"""The report as CSV, JSON and a PNG chart of monthly activity (its terminal tables:
audit.entrypoints.report_tables), headed in Korean (`lang="en"`: English); the CSV's rows keep
the report's codes (sections, programs, statuses), which programs read."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any



def rows(report: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """(section, group, item, value): one flat list for CSV and the terminal."""
    out: list[tuple[str, str, str, int]] = []
    visits = report["visits"]
    out += [("visits", "", "recorded", visits["recorded"]), ("visits", "", "distinct_shops", visits["distinct_shops"])]
    out += [("visits_by_dong", dong, "", n) for dong, n in visits["by_dong"].items()]
    out += [("visits_by_stage", stage, "", n) for stage, n in visits["by_stage"].items()]
    loans = report["loans"]
    out += [("loans", "", "applications", loans["applications"]), ("loans", "", "amount_krw", loans["amount_krw"])]
    for program, p in loans["by_program"].items():
        out += [("loans_by_program", program, "applications", p["applications"]), ("loans_by_program", program, "amount_krw", p["amount_krw"])]
        out += [("loans_by_program_status", program, status, n) for status, n in p["by_status"].items()]
    for program, b in loans.get("book", {}).get("by_program", {}).items():  # a report built before the book had none
        out += [("loan_book", program, item, b[item]) for item in ("outstanding_principal_krw", "loans_outstanding", "principal_repaid_krw",
                                                                    "loans_with_missed_instalments")]
    out.append(("referrals", "", "sent", report["referrals"]["sent"]))
    for agency, a in report["referrals"]["by_agency"].items():
        out.append(("referrals_by_agency", agency, "sent", a["sent"]))
        out += [("referrals_by_agency_outcome", agency, outcome, n) for outcome, n in a["by_outcome"].items()]
    for month in report["monthly"]:
        out += [("monthly", month["month"], k, month[k]) for k in ("visits", "loan_applications", "referrals")]
    return out


CSV_HEADERS = {"ko": ["기간", "구분", "그룹", "항목", "값"], "en": ["period", "section", "group", "item", "value"]}
CHART = {
    "ko": {"title": "월별 활동, {period}", "count": "건수", "visits": "방문", "loan_applications": "융자 신청", "referrals": "연계 의뢰"},
    "en": {"title": "Monthly activity, {period}", "count": "count", "visits": "visits", "loan_applications": "loan applications",
           "referrals": "referrals"},
}
# Korean needs a CJK font: the first of these that matplotlib finds (fonts-noto-cjk on Debian).
KOREAN_FONTS = ["Noto Sans CJK KR", "Noto Serif CJK KR", "NanumGothic", "Malgun Gothic", "AppleGothic", "DejaVu Sans"]


def to_csv(report: dict[str, Any], lang: str = "ko") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADERS[lang])
    writer.writerows((report["period"], *row) for row in rows(report))
    return buffer.getvalue()


def write_chart(report: dict[str, Any], path: Path, lang: str = "ko") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    words = CHART[lang]
    months = [m["month"] for m in report["monthly"]]
    series = {words[k]: [m[k] for m in report["monthly"]] for k in ("visits", "loan_applications", "referrals")}
    if lang == "ko":
        import logging

        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # the fonts of other systems, not found here
        plt.rcParams["font.family"] = KOREAN_FONTS
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    width = 0.27
    for i, (label, values) in enumerate(series.items()):
        ax.bar([x + (i - 1) * width for x in range(len(months))], values, width, label=label)
    ax.set_xticks(range(len(months)), months)
    ax.set_title(words["title"].format(period=report["period"]))
    ax.set_ylabel(words["count"])
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_files(report: dict[str, Any], directory: Path, lang: str = "ko") -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"report-{report['period']}"
    paths = {"json": stem.with_suffix(".json"), "csv": stem.with_suffix(".csv"), "png": stem.with_suffix(".png")}
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    paths["csv"].write_text(to_csv(report, lang), encoding="utf-8")
    write_chart(report, paths["png"], lang)
    return paths
