"""`make demo`, small: the same simulation through the real services, with exact figures."""

from __future__ import annotations

import json
import httpx
import pytest

from sangsaeng_demo.cli import simulate
from tests.support import STAFF, Stack, demo_tokens, url_for

pytestmark = pytest.mark.integration

SERVICES = ("intake", "visits", "loans", "referrals", "audit", "districts")


async def test_a_small_half_year_gives_exact_figures_and_verifies(stack: Stack) -> None:
    processes = {name: stack.spawn(name) for name in SERVICES}
    for process in processes.values():
        await process.wait_ready(timeout=60)
    urls = {name: url_for(p, "").rstrip("/") for name, p in processes.items()}

    from sangsaeng_demo.plan import make_plan

    plan = make_plan(7, shops=60, bank=5, fund=6)
    result = await simulate(urls, plan, concurrency=16, wait_timeout=90, tokens=demo_tokens(), show_progress=False)  # every person, every agency

    assert result.problems == []
    # The half-year's instalments of the loans disbursed in it, paid at the desk: 8 by their due date,
    # one (a bank cooperation loan's second, due 2025-04-19) 11 days late, so loans announced it
    # missed as of that repayment's date. All inside the grace months: interest only, no principal
    # repaid yet, so the loan book still owes every disbursed won.
    print("\nrepayments:", json.dumps(result.repayments, ensure_ascii=False, sort_keys=True))
    assert result.repayments["recorded"] == {"on time": 8, "late": 1}
    book = result.report["loans"]["book"]
    assert {p: (b["loans_outstanding"], b["outstanding_principal_krw"], b["principal_repaid_krw"], b["loans_with_missed_instalments"])
            for p, b in book["by_program"].items()} == {"bank_cooperation": (2, 82_000_000, 0, 1), "sme_development_fund": (4, 70_000_000, 0, 0)}
    assert book["outstanding_principal_krw"] == 152_000_000 and book["until"] == "2025-07-01"
    # The desk worked every request (the walk-in applicants' and the visits'), and the changed details verify.
    requests = sum(len(s.visits) for s in plan.shops) + sum(1 for s in plan.shops if not s.visits and s.loan is not None)
    assert result.repayments["desk"] == {"loan_drafted": 11, "visit_scheduled": requests - 11}
    assert result.repayments["details_changed"] == sum(1 for s in plan.shops if s.employees_later is not None) == 1
    assert result.figures == {"distinct_shops": 60, "visits": plan.visits, "bank_cooperation": 5, "sme_development_fund": 6,
                              "applications": 11}
    assert result.verify["ok"] is True and result.verify["rules"]["findings"] == []
    # The districts designated from the simulated shops and the contest round, in the report.
    assert plan.districts and result.districts == {
        "designated": len(plan.districts), "member_stores": sum(len(d.members) for d in plan.districts),
        "contest_entries": len(plan.contests[0].entries), "contest_awards": sum(1 for e in plan.contests[0].entries if e[3]),
        "awarded_krw": sum(e[4] for e in plan.contests[0].entries),
    }
    assert [d["name"] for d in result.report["districts"]["districts"]] == sorted(d.name for d in plan.districts)
    report = result.report
    assert set(report["visits"]["by_dong"]) <= {
        "용두동", "신설동", "제기동", "전농1동", "전농2동", "답십리1동", "답십리2동", "장안1동", "장안2동", "청량리동",
        "회기동", "휘경1동", "휘경2동", "이문1동", "이문2동",
    }
    # Every application reached a status the simulation drove it to (nothing left submitted).
    statuses = {s for p in report["loans"]["by_program"].values() for s in p["by_status"]}
    assert "submitted" not in statuses
    # The referrals the visits caused are in the half-year (dated by their cause).
    sent_by_visits = plan.expected_visit_referrals()
    for agency, n in sent_by_visits.items():
        assert report["referrals"]["by_agency"][agency]["sent"] == n
    # The guarantee referrals (caused by bank applications) are dated by the applications' own dates,
    # so the half-year counts every one that was sent, not the day the demo ran.
    async with httpx.AsyncClient(timeout=30) as client:
        rows = (await client.get(url_for(processes["referrals"], "/referrals"), params={"agency": "SEOUL_CREDIT_GUARANTEE", "limit": 1000},
                                 headers=STAFF)).json()
    guarantees = [r for r in rows if r["state"] != "held"]
    assert guarantees and all("2025-01-01" <= r["referred_on"] <= "2025-06-30" for r in guarantees), [r["referred_on"] for r in rows]
    assert report["referrals"]["by_agency"]["SEOUL_CREDIT_GUARANTEE"]["sent"] == len(guarantees)

    # Every command named its person: the ledger's events per actor (ce_actor) and event type.
    conn = await stack.db()
    try:
        rows = await conn.fetch(
            """select headers->>'ce_actor' as actor, split_part(event_type, '.', 3) as name, count(*) as n
               from audit.ledger group by 1, 2 order by 1, 2""")
    finally:
        await conn.close()
    by_actor: dict[str, dict[str, int]] = {}
    for row in rows:
        by_actor.setdefault(row["actor"] or "-", {})[row["name"]] = row["n"]
    print("\nledger events per actor:", json.dumps(by_actor, ensure_ascii=False, sort_keys=True))
    # No event without its person; the demo's own count per person (audit's /entries) is the ledger's.
    assert "-" not in by_actor and all(a[:2] in ("S-", "P-", "L-", "G-") for a in by_actor), sorted(by_actor)
    assert {a: dict(n) for a, n in result.by_person.items()} == by_actor
    desk = {step: sum(n.get(step, 0) for n in by_actor.values())
            for step in ("SupportRequested", "SupportRequestAssigned", "SupportRequestStarted", "SupportRequestResolved")}
    assert desk == dict.fromkeys(desk, requests)
    assert sum(n.get("SupportRequestResolved", 0) for a, n in by_actor.items() if a in ("S-1001", "S-1002")) == requests
    assert sum(n.get("BusinessDetailsChanged", 0) for n in by_actor.values()) == 1
    repayers = {a: n["LoanRepaymentRecorded"] for a, n in by_actor.items() if "LoanRepaymentRecorded" in n}
    assert sum(repayers.values()) == 9 and set(repayers) <= {"S-1001", "S-1002", "L-3001", "L-3002"}
    # The late repayment announced the missed instalment as its recorder; the sweeper (as of the real
    # today, at start-up and then hourly) ran before any loan was disbursed and announced nothing.
    assert sum(n.get("LoanInArrears", 0) for n in by_actor.values()) == 1
    recorders = {a for a, names in by_actor.items() if "VisitRecorded" in names}
    assert recorders and all(a.startswith("P-20") for a in recorders), recorders  # each visit by its assigned planner's person
    deciders = {a for a, names in by_actor.items() if "LoanApproved" in names or "LoanDisbursed" in names}
    assert deciders and deciders <= {"L-3001", "L-3002"}, deciders
    assert sum(n.get("LoanSubmitted", 0) for a, n in by_actor.items() if a in ("S-1001", "S-1002")) == 11  # staff take the applications
