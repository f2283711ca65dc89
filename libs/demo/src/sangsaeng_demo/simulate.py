"""Plays the plan through the services' HTTP APIs.

Three flows run at once: the shops (register, consent, ask for support, and the planners
record the visits the visits service schedules from those requests), the loans (complete
the drafts the visits made or take walk-in applications, let loans screen them, answer the
guarantee referrals as the Seoul Credit Guarantee Foundation, decide, disburse), and, once
the visits are in, the partner agencies answering the referrals the visits caused. Every
asynchronous step is waited for by polling an API with a deadline. Then the audit ledger
is waited for, and its half-year report and verification are the result.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.progress import Progress, TaskID

from audit.domain.entry import Entry
from sangsaeng_common.contracts import parse_ce_type

from sangsaeng_devstack.users import DEV_USERS

from .client import Api, DemoError, poll
import math

from .plan import H1_END, ContestPlan, DistrictPlan, LoanPlan, Plan, RegistrationNumbers, Shop, at_seoul, keyed_rng

PERIOD = "2025H1"
GUARANTOR = "SEOUL_CREDIT_GUARANTEE"
# The people who act (development users): each visit is recorded by its assigned planner's
# person, staff take applications in turn, and a loan officer who neither submitted nor drafted
# an application decides and disburses it (segregation of duties).
PLANNER_PEOPLE = {u.planner_id: u.subject for u in DEV_USERS if u.planner_id}
STAFF_PEOPLE = tuple(u.subject for u in DEV_USERS if u.role == "staff")
LOAN_OFFICERS = tuple(u.subject for u in DEV_USERS if u.role == "loan_officer")

# How partner agencies answer the referrals visits cause: (outcome, weight).
AGENCY_ANSWERS: dict[str, dict[str, int]] = {
    "hope_return_package": {"accepted": 55, "completed": 30, "declined": 15},
    "restart_support": {"accepted": 60, "completed": 20, "declined": 20},
    "education": {"completed": 70, "accepted": 20, "declined": 10},
    "yellow_umbrella": {"accepted": 60, "completed": 20, "declined": 20},
    "self_employed_insurance": {"accepted": 50, "completed": 30, "declined": 20},
}
VISIT_AGENCIES = ("SEMAS", "KBIZ", "EMPLOYMENT_INSURANCE")


@dataclass
class Result:
    report: dict[str, Any]
    verify: dict[str, Any]
    baseline: dict[str, int]
    expected: dict[str, int]
    figures: dict[str, int]
    problems: list[str]
    requests: int
    loan_outcomes: dict[str, int] = field(default_factory=dict)
    referrals_answered: dict[str, int] = field(default_factory=dict)
    districts: dict[str, int] = field(default_factory=dict)  # the report's district figures
    repayments: dict[str, Any] = field(default_factory=dict)  # what the demo paid, and what the report's loan book shows
    by_person: dict[str, Counter[str]] = field(default_factory=dict)  # actor (ce_actor) -> event name -> events this run logged

    @property
    def ok(self) -> bool:
        return not self.problems


def figures_of(report: dict[str, Any]) -> dict[str, int]:
    programs = report["loans"]["by_program"]
    return {
        "distinct_shops": report["visits"]["distinct_shops"],
        "visits": report["visits"]["recorded"],
        "bank_cooperation": programs.get("bank_cooperation", {}).get("applications", 0),
        "sme_development_fund": programs.get("sme_development_fund", {}).get("applications", 0),
        "applications": report["loans"]["applications"],
    }


def book_figures_of(report: dict[str, Any]) -> dict[str, Any]:
    """The report's loan book, per program: principal outstanding at the period's end and the
    loans with an instalment missed in the period."""
    programs = report["loans"].get("book", {}).get("by_program", {})
    return {
        "outstanding_principal_krw": {p: b["outstanding_principal_krw"] for p, b in programs.items()},
        "loans_with_missed_instalments": {p: b["loans_with_missed_instalments"] for p, b in programs.items()},
    }


def district_figures_of(report: dict[str, Any]) -> dict[str, int]:
    section = report.get("districts", {})
    return {k: int(section.get(k, 0)) for k in ("designated", "member_stores", "contest_entries", "contest_awards", "awarded_krw")}


# WGS84: metres to degrees near a point (radii of curvature), for a district's few hundred metres.
_A, _E2 = 6_378_137.0, 0.00669437999014


def offset(corner: tuple[float, float], east_m: float, north_m: float) -> list[float]:
    lon, lat = corner
    phi = math.radians(lat)
    w = 1 - _E2 * math.sin(phi) ** 2
    meridian, normal = _A * (1 - _E2) / w ** 1.5, _A / math.sqrt(w)
    return [lon + math.degrees(east_m / (normal * math.cos(phi))), lat + math.degrees(north_m / meridian)]


class _Phases:
    """rich.progress tasks, one per phase (or nothing, without a Progress)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def add(self, name: str, description: str, total: float | None) -> None:
        if self.progress is not None:
            self.tasks[name] = self.progress.add_task(description, total=total)

    def advance(self, name: str, n: float = 1) -> None:
        if self.progress is not None and name in self.tasks:
            self.progress.advance(self.tasks[name], n)

    def total(self, name: str, total: float) -> None:
        if self.progress is not None and name in self.tasks:
            self.progress.update(self.tasks[name], total=total)

    def done(self, name: str) -> None:
        if self.progress is not None and name in self.tasks:
            task = next(t for t in self.progress.tasks if t.id == self.tasks[name])
            total = task.total if task.total is not None else max(task.completed, 1)
            self.progress.update(self.tasks[name], total=total, completed=total)

    def completed(self, name: str, completed: float, total: float | None = None) -> None:
        if self.progress is not None and name in self.tasks:
            self.progress.update(self.tasks[name], completed=completed, total=total)


class DistrictsFlow:
    """The demo's districts, mixed into Simulation (its api, plan, run, business ids, phases and problems)."""

    district_id: dict[int, str]

    def planned_district_figures(self) -> dict[str, int]:
        contests = self.plan.contests
        return {
            "designated": len(self.plan.districts),
            "member_stores": sum(len(d.members) for d in self.plan.districts),
            "contest_entries": sum(len(c.entries) for c in contests),
            "contest_awards": sum(1 for c in contests for e in c.entries if e[3]),
            "awarded_krw": sum(e[4] for c in contests for e in c.entries if e[3]),
        }


    async def districts_flow(self) -> None:
        """The district's alley-type shopping districts: proposed with their boundaries, member
        stores drawn from the simulated shops, reviewed and designated; then a contest round."""
        self.phases.add("districts", "districts designated (골목형상점가)", len(self.plan.districts))
        await _gather_all(self.district_flow(d) for d in self.plan.districts)
        for n, contest in enumerate(self.plan.contests):
            await self.contest_flow(n, contest)


    async def district_flow(self, d: DistrictPlan) -> None:
        corners = [offset(d.corner, e, n) for e, n in ((0, 0), (d.east_m, 0), (d.east_m, d.north_m), (0, d.north_m), (0, 0))]
        body = {"name": d.name, "dongs": [d.dong], "association": d.association,
                "representative": {"name": d.representative[0], "phone": d.representative[1]},
                "boundary": {"type": "Polygon", "coordinates": [corners]}, "excluded_area_m2": d.excluded_m2,
                "proposed_on": d.proposed_on.isoformat()}
        response = await self.api.request("districts", "POST", "/districts", role="staff", subject=_desk(d.seq), body=body, key=f"{self.run}-district-{d.seq}")
        if response.status_code == 409:  # a demo ran on this system before: the same name, this run's
            body["name"] = f"{d.name} {self.run}"
            response = await self.api.request("districts", "POST", "/districts", role="staff", subject=_desk(d.seq), body=body, key=f"{self.run}-district-{d.seq}-again")
        if response.status_code != 201:
            raise DemoError(f"POST /districts {d.name}: HTTP {response.status_code}: {response.text[:500]}")
        district = response.json()["id"]
        self.district_id[d.seq] = district

        async def join(i: int, shop: int) -> None:
            lon, lat = offset(d.corner, *d.offsets[i])
            await self.api.call("districts", "POST", f"/districts/{district}/stores", role="staff", subject=_desk(d.seq), key=f"{self.run}-member-{d.seq}-{shop}",
                                body={"business_id": self.business[shop], "longitude": lon, "latitude": lat, "onnuri_merchant": d.onnuri[i],
                                      "joined_on": d.proposed_on.isoformat()})

        await _gather_all(join(i, shop) for i, shop in enumerate(d.members))
        await self.api.call("districts", "POST", f"/districts/{district}/review", role="staff", subject=_desk(d.seq), key=f"{self.run}-review-{d.seq}",
                            body={"on": d.proposed_on.isoformat()})
        designated = await self.api.request("districts", "POST", f"/districts/{district}/designate", role="staff", subject=_desk(d.seq),
                                            key=f"{self.run}-designate-{d.seq}", body={"on": d.designated_on.isoformat()})
        if designated.status_code != 200:
            self.problems.append(f"district {d.name}: designation refused: {designated.text[:300]}")
        self.phases.advance("districts")


    async def contest_flow(self, n: int, c: ContestPlan) -> None:
        call = await self.api.call("districts", "POST", "/contests", role="staff", subject=_desk(n), key=f"{self.run}-contest-{n}",
                                   body={"organiser": c.organiser, "title": c.title, "eligibility": "designated_only", "budget_krw": c.budget_krw,
                                         "opens_on": c.opens_on.isoformat(), "deadline": c.deadline.isoformat()})
        for seq, entered_on, requested, selected, awarded in c.entries:
            entry = await self.api.call("districts", "POST", f"/contests/{call['id']}/entries", role="staff", subject=_desk(seq), key=f"{self.run}-entry-{n}-{seq}",
                                        body={"district_id": self.district_id[seq], "requested_krw": requested, "entered_on": entered_on.isoformat()})
            await self.api.call("districts", "POST", f"/contests/{call['id']}/entries/{entry['id']}/result", role="staff", subject=_desk(n),
                                key=f"{self.run}-result-{n}-{seq}",
                                body={"selected": selected, "awarded_krw": awarded, "announced_on": c.announced_on.isoformat()})
        if c.late_entry is not None:
            seq, entered_on = c.late_entry
            late = await self.api.request("districts", "POST", f"/contests/{call['id']}/entries", role="staff", subject=_desk(seq), accept=(409,),
                                          body={"district_id": self.district_id[seq], "entered_on": entered_on.isoformat()})
            rules = [r.get("rule") for r in late.json().get("failed_rules", [])] if late.status_code == 409 else []
            if "deadline" not in rules:
                self.problems.append(f"a late contest entry was not refused by its deadline: HTTP {late.status_code} {late.text[:200]}")


class Simulation(DistrictsFlow):
    def __init__(self, api: Api, plan: Plan, progress: Progress | None = None, *, wait_timeout: float = 180.0) -> None:
        self.api = api
        self.plan = plan
        self.seed = plan.seed
        self.run = uuid.uuid4().hex[:8]  # only in idempotency keys: safe retries within this run
        self.phases = _Phases(progress)
        self.wait_timeout = wait_timeout
        self.fallback_numbers = RegistrationNumbers(plan.seed + 7_919)
        self.business: dict[int, str] = {}  # shop seq -> business id
        self.shop_of: dict[str, int] = {}  # business id -> shop seq
        self.recorded: Counter[int] = Counter()  # shop seq -> visits recorded
        self.taken: set[str] = set()  # visit ids being or already recorded
        self.visits_total = plan.visits
        self.visits_done = 0
        self.visits_finished = asyncio.Event()
        self.applicants = [loan for loan in plan.loans]
        self.applicants_waiting = {loan.shop for loan in plan.loans}
        self.applicants_ready = asyncio.Event()
        self.application: dict[int, str] = {}  # loan seq -> application id
        self.loan_of: dict[str, LoanPlan] = {}  # application id -> plan
        self.loan_outcomes: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.problems: list[str] = []
        self.district_id: dict[int, str] = {}  # district seq -> district id
        self.expected_districts: dict[str, int] = {}
        self.desk_outcomes: Counter[str] = Counter()
        self.details_changed = 0
        self.repaid: Counter[str] = Counter()  # repayments recorded, on time and late
        self.late_loans: Counter[str] = Counter()  # program -> loans with an instalment missed (and then paid) in the half-year
        self.lent: Counter[str] = Counter()  # program -> principal disbursed in the half-year
        self.principal_repaid: Counter[str] = Counter()  # program -> principal repaid in the half-year (the schedules' parts)

    # ------------------------------------------------------------------ the whole run

    async def run_all(self) -> Result:
        plan = self.plan
        baseline_report = await self.report()
        baseline = figures_of(baseline_report)
        ledger_start, _ = await self.ledger_actors(0)
        self.phases.add("shops", "businesses registered", len(plan.shops))
        self.phases.add("requests", "support requests", self.visits_total + (len(plan.shops) - plan.visited_shops))
        self.phases.add("visits", "visits recorded", self.visits_total)
        self.phases.add("loans", "loan applications submitted", len(plan.loans))
        self.phases.add("screening", "screened by loans", len(plan.loans))
        self.phases.add("guarantees", "guarantees answered (서울신용보증재단)", None)
        self.phases.add("decisions", "decisions and disbursements", None)
        self.phases.add("referrals", "referrals answered by agencies", None)
        if not self.applicants_waiting:
            self.applicants_ready.set()
        recorder = asyncio.create_task(self.record_visits())
        loans = asyncio.create_task(self.loans_flow())
        try:
            # Applicants first, so that the loans flow can start while the other shops are visited.
            order = sorted(plan.shops, key=lambda s: (s.loan is None, s.loan if s.loan is not None else s.seq))
            shops_in_flight = asyncio.Semaphore(max(4, self.api.concurrency))

            async def bounded(shop: Shop) -> None:
                async with shops_in_flight:  # leaves room in the request queue for the recorder
                    await self.shop_flow(shop)

            await _gather_all(bounded(shop) for shop in order)
            districts = asyncio.create_task(self.districts_flow())
            await recorder
            referrals = asyncio.create_task(self.agencies_answer())
            await loans
            await referrals
            await districts
        finally:
            for task in (recorder, loans):
                if not task.done():
                    task.cancel()
        expected = {
            "distinct_shops": baseline["distinct_shops"] + plan.visited_shops,
            "visits": baseline["visits"] + plan.visits,
            "bank_cooperation": baseline["bank_cooperation"] + plan.count("bank_cooperation"),
            "sme_development_fund": baseline["sme_development_fund"] + plan.count("sme_development_fund"),
            "applications": baseline["applications"] + len(plan.loans),
        }
        self.expected_districts = _add(district_figures_of(baseline_report), self.planned_district_figures())
        final = await self.statuses() if self.loan_of else {}
        expected_status: dict[str, Counter[str]] = {}
        for app_id, loan in self.loan_of.items():
            expected_status.setdefault(loan.program, Counter())[_ledger_status(loan.program, final.get(app_id, {}).get("status"))] += 1
        report = await self.wait_for_ledger(expected, expected_status, baseline_report)
        verify = await self.api.call("audit", "GET", "/verify", role="auditor", deadline_s=self.wait_timeout)
        figures = figures_of(report)
        for name, value in expected.items():
            if figures[name] != value:
                self.problems.append(f"report: {name} is {figures[name]:,}, expected {value:,}")
        for name, value in self.expected_districts.items():
            if district_figures_of(report)[name] != value:
                self.problems.append(f"report: districts {name} is {district_figures_of(report)[name]:,}, expected {value:,}")
        _, by_person = await self.ledger_actors(ledger_start)
        book, expected_book = book_figures_of(report), self.expected_book(baseline_report)
        if book != expected_book:
            self.problems.append(f"report: loan book {book}, expected {expected_book}")
        if not verify.get("ok"):
            findings = verify.get("rules", {}).get("findings", [])
            broken = verify.get("log", {}).get("first_broken") or verify.get("log", {}).get("checkpoints", {}).get("findings")
            self.problems.append(f"verify: not ok ({len(findings)} rule finding(s){', log broken' if broken else ''})")
        return Result(report, verify, baseline, expected, figures, self.problems, self.api.requests,
                      dict(self.loan_outcomes), dict(self.answered), district_figures_of(report),
                      {"recorded": dict(self.repaid), "loans_late": dict(self.late_loans), "book": book,
                       "desk": dict(self.desk_outcomes), "details_changed": self.details_changed},
                      by_person)

    async def ledger_actors(self, start: int) -> tuple[int, dict[str, Counter[str]]]:
        """The audit log's entries from `start` on, read through audit's `/entries`: each event's
        actor (its `ce_actor` header) and name; returns the log's end and the counts per actor."""
        counts: dict[str, Counter[str]] = {}
        while True:
            page = await self.api.call("audit", "GET", "/entries", role="auditor", params={"start": start}, priority=True)
            for item in page["entries"]:
                entry = Entry.from_bytes(base64.b64decode(item["entry"]))
                parsed = parse_ce_type(entry.header("ce_type") or "")
                name = parsed[1] if parsed else entry.header("ce_type") or "?"
                counts.setdefault(entry.header("ce_actor") or "-", Counter())[name] += 1
            if page["end"] == start:
                return start, counts
            start = page["end"]

    async def report(self) -> dict[str, Any]:
        return await self.api.call("audit", "GET", f"/reports/{PERIOD}", role="auditor", deadline_s=self.wait_timeout, priority=True)

    # ------------------------------------------------------------------ shops

    async def shop_flow(self, shop: Shop) -> None:
        await self.register(shop)
        owner = await self.api.call(
            "intake", "POST", f"/businesses/{self.business[shop.seq]}/owners", role="staff", subject=shop.clerk, key=f"{self.run}-owner-{shop.seq}",
            body={"name": shop.owner_name, "relation": "owner", "phone": shop.owner_phone},
        )
        if shop.consent_agencies:
            await self.api.call(
                "intake", "POST", f"/businesses/{self.business[shop.seq]}/consents", role="staff", subject=shop.clerk,
                key=f"{self.run}-consent-{shop.seq}",
                body={"agencies": shop.consent_agencies, "owner_id": owner["id"], "signed_by": shop.owner_name,
                      "given_at": at_seoul(shop.consent_on, 10), "note": "개인정보 제3자 제공 동의서 접수"},
            )
        if shop.employees_later is not None:  # the owner comes back: the shop took on or lost staff
            await self.api.call("intake", "PATCH", f"/businesses/{self.business[shop.seq]}", role="staff", subject=shop.clerk,
                                body={"employees": shop.employees_later}, key=f"{self.run}-details-{shop.seq}")
            self.details_changed += 1
        if shop.visits:
            await self.request_support(shop, 0)
        elif shop.loan is not None:  # a walk-in applicant asks at the desk; no visit needed
            loan = self.plan.loans[shop.loan]
            request = await self.api.call(
                "intake", "POST", "/support-requests", role="staff", subject=shop.clerk, key=f"{self.run}-request-{shop.seq}-desk",
                body={"business_id": self.business[shop.seq], "needs": ["loan"], "channel": "walk_in",
                      "requested_on": loan.submitted_on.isoformat(), "note": "창구 방문, 융자 상담"},
            )
            await self.work_request(shop, request["id"], "desk", ["loan"])
            self.phases.advance("requests")
            self.applicant_ready(shop.seq)

    async def register(self, shop: Shop) -> None:
        body = shop.business_body()
        attempt = 0
        while True:
            response = await self.api.request("intake", "POST", "/businesses", role="staff", subject=shop.clerk, body=body,
                                              key=f"{self.run}-business-{shop.seq}-{attempt}")
            if response.status_code == 201:
                break
            if response.status_code == 409 and "registration_number" in response.text and attempt < 20:
                # Taken already (this system ran a demo before): the next number of the fallback series.
                from .plan import hyphenated

                body["registration_number"] = hyphenated(self.fallback_numbers.next())
                attempt += 1
                continue
            raise DemoError(f"POST /businesses for shop {shop.seq}: HTTP {response.status_code}: {response.text[:500]}")
        business_id = response.json()["id"]
        self.business[shop.seq] = business_id
        self.shop_of[business_id] = shop.seq
        self.phases.advance("shops")

    async def request_support(self, shop: Shop, index: int) -> None:
        visit = shop.visits[index]
        request = await self.api.call(
            "intake", "POST", "/support-requests", role="staff", subject=shop.clerk, key=f"{self.run}-request-{shop.seq}-{index}",
            body={"business_id": self.business[shop.seq], "needs": visit.request_needs, "channel": visit.channel,
                  "requested_on": visit.requested_on.isoformat()},
        )
        await self.work_request(shop, request["id"], str(index), visit.request_needs)
        self.phases.advance("requests")

    async def work_request(self, shop: Shop, request_id: str, which: str, needs: list[str]) -> None:
        """The desk's lifecycle: the clerk who took the request assigns it to a staff person (in
        turn, by the shop's seeded generator), who starts it and resolves it with what the
        request led to: a loan draft for a loan need, else the visit it scheduled."""
        assignee = keyed_rng(self.seed, "desk", shop.seq, which).choice(STAFF_PEOPLE)
        path, key = f"/support-requests/{request_id}", f"{self.run}-desk-{shop.seq}-{which}"
        await self.api.call("intake", "POST", f"{path}/assign", role="staff", subject=shop.clerk, body={"assignee": assignee},
                            key=f"{key}-assign")
        await self.api.call("intake", "POST", f"{path}/start", role="staff", subject=assignee, body={}, key=f"{key}-start")
        outcome = "loan_drafted" if "loan" in needs else "visit_scheduled"
        await self.api.call("intake", "POST", f"{path}/resolve", role="staff", subject=assignee, body={"outcome": outcome},
                            key=f"{key}-resolve")
        self.desk_outcomes[outcome] += 1

    def applicant_ready(self, shop_seq: int) -> None:
        self.applicants_waiting.discard(shop_seq)
        if not self.applicants_waiting:
            self.applicants_ready.set()

    # ------------------------------------------------------------------ visits

    async def record_visits(self) -> None:
        """Planners record the visits the visits service scheduled from the support requests
        (found by polling the scheduled visits, many at a time)."""
        if self.visits_total == 0:
            self.visits_finished.set()
            return
        pending: set[asyncio.Task] = set()
        last_progress = time.monotonic()
        while self.visits_done < self.visits_total:
            for task in [t for t in pending if t.done()]:
                pending.discard(task)
                task.result()  # re-raise a failure
            scheduled = await self.api.call("visits", "GET", "/visits", role="planner",
                                            params={"status": "scheduled", "limit": 300}, priority=True)
            new = [v for v in scheduled if v["id"] not in self.taken and v["business_id"] in self.shop_of]
            for visit in new:
                self.taken.add(visit["id"])
                seq = self.shop_of[visit["business_id"]]
                pending.add(asyncio.create_task(self.record(visit, self.plan.shops[seq], self.recorded[seq])))
            if new:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > self.wait_timeout:
                raise DemoError(f"timed out waiting for scheduled visits ({self.visits_done:,} of {self.visits_total:,} recorded)")
            await asyncio.sleep(0.25 if not new else 0.05)
        for task in pending:
            await task
        self.visits_finished.set()

    async def record(self, visit: dict[str, Any], shop: Shop, index: int) -> None:
        if index >= len(shop.visits):
            return  # a visit we did not plan (e.g. scheduled by someone else): not ours to record
        planned = shop.visits[index]
        body = {
            "planner_id": visit["planner_id"], "visited_on": planned.visited_on.isoformat(), "outcome": planned.outcome,
            "stage_observed": shop.stage, "needs_identified": planned.needs_identified, "services_given": planned.services_given,
            "follow_ups": planned.follow_ups, "notes": planned.notes or None,
        }
        response = await self.api.request("visits", "POST", f"/visits/{visit['id']}/record", role="planner", body=body,
                                          subject=self.recorder_of(visit["planner_id"]), key=f"{self.run}-record-{shop.seq}-{index}")
        if response.status_code not in (200, 201):
            raise DemoError(f"recording visit {visit['id']} of shop {shop.seq}: HTTP {response.status_code}: {response.text[:500]}")
        self.recorded[shop.seq] += 1
        self.visits_done += 1
        self.phases.advance("visits")
        if index == 0 and shop.loan is not None:
            self.applicant_ready(shop.seq)
        if index + 1 < len(shop.visits):
            await self.request_support(shop, index + 1)

    # ------------------------------------------------------------------ loans

    async def loans_flow(self) -> None:
        await self.applicants_ready.wait()
        loans = self.plan.loans
        if not loans:
            return
        # Drafts: a visit that found a loan need made one in loans; staff complete it.
        want = {self.business[loan.shop]: loan for loan in loans if loan.via_visit}
        drafts: dict[str, str] = {}

        async def all_drafts() -> bool:
            rows = await self.api.call("loans", "GET", "/applications", role="staff", params={"status": "draft", "limit": 1000},
                                       priority=True)
            drafts.update({r["business_id"]: r["id"] for r in rows if r["business_id"] in want})
            return len(drafts) == len(want)

        await poll(all_drafts, what="the loan drafts the visits made", timeout=self.wait_timeout)
        await _gather_all(self.submit(loan, drafts.get(self.business[loan.shop])) for loan in loans)

        # Screening (loans' consumer of its own LoanSubmitted).
        ours = set(self.loan_of)

        async def screened() -> bool:
            rows = await self.api.call("loans", "GET", "/applications", role="loan_officer", params={"status": "submitted", "limit": 1000},
                                       priority=True)
            waiting = sum(1 for r in rows if r["id"] in ours)
            self.phases.completed("screening", len(ours) - waiting, len(ours))
            return waiting == 0

        await poll(screened, what="loans to screen the applications", timeout=self.wait_timeout)
        status = await self.statuses()
        for app_id, row in status.items():
            if row["status"] == "rejected":
                self.loan_outcomes["rejected at screening"] += 1

        # The guarantee saga: the foundation reads its referrals and answers them.
        awaiting = {a for a, r in status.items() if r["status"] == "awaiting_guarantee"}
        visible = {a for a in awaiting if GUARANTOR in self.plan.shops[self.loan_of[a].shop].consent_agencies}
        held = awaiting - visible
        self.phases.total("guarantees", len(visible))
        if held:
            self.loan_outcomes["guarantee referral held (no consent)"] += len(held)
        answered: set[str] = set()
        answering: set[asyncio.Task] = set()

        async def guarantee_referrals() -> bool:
            rows = await self.api.call("referrals", "GET", "/referrals", role=f"agency:{GUARANTOR}",
                                       params={"agency": GUARANTOR, "state": "sent", "limit": 1000}, priority=True)
            for row in rows:
                if row["application_id"] in visible and row["application_id"] not in answered:
                    answered.add(row["application_id"])
                    answering.add(asyncio.create_task(self.answer_guarantee(row)))
            return len(answered) == len(visible)

        await poll(guarantee_referrals, what="the guarantee referrals", timeout=self.wait_timeout)
        await _gather_all(answering)

        async def guarantees_applied() -> bool:
            rows = await self.api.call("loans", "GET", "/applications", role="loan_officer",
                                       params={"status": "awaiting_guarantee", "limit": 1000}, priority=True)
            return not any(r["id"] in answered for r in rows)

        await poll(guarantees_applied, what="loans to take in the guarantee answers", timeout=self.wait_timeout)

        # Decisions, then disbursement of some approved loans.
        status = await self.statuses()
        deciding = [a for a, r in status.items() if r["status"] == "awaiting_decision"]
        self.phases.total("decisions", len(deciding))
        self.loan_outcomes["guarantee declined"] += sum(
            1 for a in answered if status[a]["status"] == "rejected"
        )
        await _gather_all(self.decide(status[a]) for a in deciding)
        self.phases.done("decisions")

    def person(self, subject: str) -> str:
        """The subject a call acts as (every development user can get a token from the issuer)."""
        return subject

    def recorder_of(self, planner_id: str) -> str | None:
        """Who records a visit: its assigned planner's person; a planner with no development user
        (added through the planners API) has staff record on their behalf."""
        subject = PLANNER_PEOPLE.get(planner_id)
        return subject if subject and self.person(subject) else self.person(STAFF_PEOPLE[0])

    def officer_for(self, application: dict[str, Any], seq: int) -> str | None:
        """A loan officer (in turn) who neither submitted nor drafted the application."""
        involved = {application.get("submitted_by"), application.get("drafted_by")}
        turn = LOAN_OFFICERS[seq % len(LOAN_OFFICERS):] + LOAN_OFFICERS[:seq % len(LOAN_OFFICERS)]
        return next((self.person(o) for o in turn if o not in involved), None)

    async def submit(self, loan: LoanPlan, draft_id: str | None) -> None:
        body = loan.body()
        clerk = self.person(STAFF_PEOPLE[loan.seq % len(STAFF_PEOPLE)])
        if draft_id is not None:
            row = await self.api.call("loans", "POST", f"/applications/{draft_id}/submit", role="staff", subject=clerk, body=body,
                                      key=f"{self.run}-submit-{loan.seq}")
        else:
            row = await self.api.call("loans", "POST", "/applications", role="staff", subject=clerk,
                                      body={"business_id": self.business[loan.shop], **body}, key=f"{self.run}-apply-{loan.seq}")
        self.application[loan.seq] = row["id"]
        self.loan_of[row["id"]] = loan
        self.phases.advance("loans")

    async def statuses(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for status in ("awaiting_guarantee", "awaiting_decision", "rejected", "approved", "disbursed", "guarantee_overdue"):
            rows = await self.api.call("loans", "GET", "/applications", role="loan_officer", params={"status": status, "limit": 1000},
                                       priority=True)
            found.update({r["id"]: r for r in rows if r["id"] in self.loan_of})
        return found

    async def answer_guarantee(self, referral: dict[str, Any]) -> None:
        loan = self.loan_of[referral["application_id"]]
        role, as_ = f"agency:{GUARANTOR}", self.person(f"G-{GUARANTOR}")
        await self.api.call("referrals", "POST", f"/referrals/{referral['id']}/acknowledge", role=role, subject=as_,
                            body={"agency_reference": f"SCGF-2025-{loan.seq + 1:06d}"}, key=f"{self.run}-gack-{loan.seq}")
        if loan.guarantee_issued:
            body = {"outcome": "guarantee_issued", "amount_krw": loan.guarantee_krw, "note": "보증서 발급",
                    "completed_on": loan.guarantee_on.isoformat()}
        else:
            body = {"outcome": "guarantee_declined", "note": "보증 심사 기준 미달", "completed_on": loan.guarantee_on.isoformat()}
        await self.api.call("referrals", "POST", f"/referrals/{referral['id']}/outcome", role=role, subject=as_, body=body,
                            key=f"{self.run}-gout-{loan.seq}")
        self.phases.advance("guarantees")

    async def decide(self, application: dict[str, Any]) -> None:
        loan = self.loan_of[application["id"]]
        path = f"/applications/{application['id']}"
        if loan.approve:
            cap = min(a for a in (loan.approved_krw, application["amount_krw"], application.get("guarantee_amount_krw")) if a)
            body = {"decision": "approve", "amount_krw": cap, "decided_on": loan.decided_on.isoformat()}
        else:
            body = {"decision": "reject", "reasons": loan.reject_reasons, "decided_on": loan.decided_on.isoformat()}
        officer = self.officer_for(application, loan.seq)
        await self.api.call("loans", "POST", f"{path}/decision", role="loan_officer", subject=officer, body=body,
                            key=f"{self.run}-decide-{loan.seq}")
        if not loan.approve:
            self.loan_outcomes["rejected by the loan officer"] += 1
        elif loan.disburse:
            body = {"disbursed_on": loan.disbursed_on.isoformat()}
            if loan.program == "bank_cooperation":
                body["annual_rate_pct"] = loan.bank_rate_pct
            disbursed = await self.api.call("loans", "POST", f"{path}/disbursement", role="loan_officer", subject=officer, body=body,
                                            key=f"{self.run}-disburse-{loan.seq}")
            self.loan_outcomes["disbursed"] += 1
            await self.repay(loan, disbursed)
        else:
            self.loan_outcomes["approved, not yet disbursed"] += 1
        self.phases.advance("decisions")

    async def repay(self, loan: LoanPlan, application: dict[str, Any]) -> None:
        """The borrower pays the half-year's instalments at the desk, in order, each its
        schedule's amount, recorded by a staff person or a loan officer; right after the
        disbursement, so that the arrears sweeper (as of the real today) has little chance to
        look at this loan before its history is in."""
        if not loan.disbursed_in_period:
            return
        self.lent[loan.program] += application["approved_amount_krw"]
        payments = {p["number"]: p for p in application["schedule"]["payments"]}
        late = False
        for planned in self.plan.repayments(loan):
            due = payments[planned.instalment]
            if due["due_on"] != planned.due_on.isoformat():
                raise DemoError(f"loan {loan.seq}: instalment {planned.instalment} is due on {due['due_on']}, the plan says {planned.due_on}")
            await self.api.call("loans", "POST", f"/applications/{application['id']}/repayments", role="staff", subject=planned.by,
                                body={"amount_krw": due["payable_krw"], "paid_on": planned.paid_on.isoformat()},
                                key=f"{self.run}-repay-{loan.seq}-{planned.instalment}")
            self.repaid["late" if planned.late else "on time"] += 1
            if planned.paid_on <= H1_END:
                self.principal_repaid[loan.program] += due["principal_krw"]
            # Missed from the day after its due date (no grace days in the demo's stack).
            late = late or (planned.late and planned.due_on < H1_END)
        if late:
            self.late_loans[loan.program] += 1

    def expected_book(self, baseline: dict[str, Any]) -> dict[str, Any]:
        before = book_figures_of(baseline)
        programs = {*self.lent, *before["outstanding_principal_krw"]}
        return {
            "outstanding_principal_krw": {p: before["outstanding_principal_krw"].get(p, 0) + self.lent[p] - self.principal_repaid[p]
                                          for p in programs},
            "loans_with_missed_instalments": {p: before["loans_with_missed_instalments"].get(p, 0) + self.late_loans[p] for p in programs},
        }

    # ------------------------------------------------------------------ partner agencies

    async def agencies_answer(self) -> None:
        """SEMAS, KBIZ and the employment-insurance agency read the referrals the visits
        caused (each with its own token) and acknowledge and answer most of them."""
        expected = self.plan.expected_visit_referrals()
        self.phases.total("referrals", sum(expected.get(a, 0) for a in VISIT_AGENCIES))
        await _gather_all(self.agency_answers(agency, expected.get(agency, 0)) for agency in VISIT_AGENCIES)
        self.phases.done("referrals")

    async def agency_answers(self, agency: str, expected: int) -> None:
        role = f"agency:{agency}"
        if expected == 0:
            return
        seen: set[str] = set()
        tasks: set[asyncio.Task] = set()

        async def arrived() -> bool:
            rows = await self.api.call("referrals", "GET", "/referrals", role=role, params={"agency": agency, "state": "sent", "limit": 1000},
                                       priority=True)
            for row in rows:
                if row["id"] in seen or row["business_id"] not in self.shop_of or row["application_id"]:
                    continue
                seen.add(row["id"])
                tasks.add(asyncio.create_task(self.agency_answer(role, row)))
            return len(seen) >= expected

        try:
            await poll(arrived, what=f"the referrals to {agency}", timeout=min(self.wait_timeout, 60.0))
        except DemoError as exc:
            self.problems.append(f"{exc} ({len(seen)} of {expected} expected); answered those that came")
        await _gather_all(tasks)

    async def agency_answer(self, role: str, referral: dict[str, Any]) -> None:
        seq = self.shop_of[referral["business_id"]]
        rng = keyed_rng(self.seed, "referral", seq, referral["program"])
        key = f"{self.run}-{referral['id']}"
        if rng.random() < 0.85:
            await self.api.call("referrals", "POST", f"/referrals/{referral['id']}/acknowledge", role=role,
                                subject=self.person(f"G-{referral['agency']}"), body={"agency_reference": f"{referral['agency'][:4]}-{seq + 1:05d}"}, key=f"{key}-ack")
            if rng.random() < 0.7:
                weights = AGENCY_ANSWERS.get(referral["program"], {"accepted": 1})
                outcome = rng.choices(list(weights), weights=list(weights.values()))[0]
                from datetime import date, timedelta

                completed = date.fromisoformat(referral["referred_on"]) + timedelta(days=rng.randint(3, 25))
                await self.api.call("referrals", "POST", f"/referrals/{referral['id']}/outcome", role=role,
                                    subject=self.person(f"G-{referral['agency']}"), body={"outcome": outcome, "completed_on": completed.isoformat()}, key=f"{key}-outcome")
                self.answered[f"{referral['agency']} {outcome}"] += 1
            else:
                self.answered[f"{referral['agency']} acknowledged"] += 1
        else:
            self.answered[f"{referral['agency']} unanswered"] += 1
        self.phases.advance("referrals")

    # ------------------------------------------------------------------ the audit ledger

    async def wait_for_ledger(
        self, expected: dict[str, int], expected_status: dict[str, Counter[str]], baseline: dict[str, Any]
    ) -> dict[str, Any]:
        """The ledger consumes every topic asynchronously: wait until the report shows what
        was submitted, every application in the status loans has it in (so the last
        decisions are in), and then stops changing."""
        self.phases.add("ledger", "audit ledger caught up", None)
        previous: list[dict[str, Any]] = []
        before = {p: Counter(v["by_status"]) for p, v in baseline["loans"]["by_program"].items()}
        expected_book = self.expected_book(baseline)

        async def caught_up() -> dict[str, Any] | None:
            report = await self.report()
            statuses = {p: Counter(v["by_status"]) - before.get(p, Counter()) for p, v in report["loans"]["by_program"].items()}
            matches = (figures_of(report) == expected and district_figures_of(report) == self.expected_districts
                       and book_figures_of(report) == expected_book and all(statuses.get(p, Counter()) == c for p, c in expected_status.items()))
            settled = matches and previous and previous[-1] == report
            previous.append(report)
            return report if settled else None

        report = await poll(caught_up, what=f"the audit ledger to show {expected}", timeout=self.wait_timeout, interval=0.5)
        self.phases.done("ledger")
        return report


def _desk(n: int) -> str:
    """The staff person (in turn) who does the districts' paperwork."""
    return STAFF_PEOPLE[n % len(STAFF_PEOPLE)]


def _ledger_status(program: str, status: str | None) -> str:
    """The status the audit report gives an application whose status in loans is `status`
    (the report names an application by its last loans event)."""
    if status == "awaiting_decision":  # last event: LoanScreened (fund) or GuaranteeRequested (bank)
        return "screened" if program == "sme_development_fund" else "awaiting_guarantee"
    if status in (None, "submitted"):
        return "submitted"
    if status == "guarantee_overdue":
        return "awaiting_guarantee"
    return status


async def _gather_all(coroutines: Iterable[Any]) -> None:
    """Run them all; the first failure cancels the rest and is raised."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    if not tasks:
        return
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in a.keys() | b.keys()}
