"""The half-year as data, decided up front from the seed (no I/O, no service ids).

Everything the demo will submit is planned here: the shops, their visits and what the
planners find, consents, and the loan applications with what the guarantee foundation and
the loan officers will answer. The services hand out ids; the plan is keyed by our own
sequence numbers (`Shop.seq`, `LoanPlan.seq`), so the same seed always makes the same
half-year, whatever order the services process it in.
"""

from __future__ import annotations

import hashlib
import random
import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

SEOUL = timezone(timedelta(hours=9))
H1_START = date(2025, 1, 2)
H1_END = date(2025, 6, 30)
FUND_ROUND_OPENS = date(2025, 4, 21)  # the 2025 first round of the SME development fund

# Administrative dongs (reference/dongdaemun.md) with rough weights: the markets around
# 제기동 (경동시장, 청량리 청과물시장) and 장안동's commercial streets hold more shops.
DONGS: dict[str, int] = {
    "용두동": 7, "신설동": 6, "제기동": 11, "전농1동": 6, "전농2동": 5, "답십리1동": 6, "답십리2동": 5,
    "장안1동": 8, "장안2동": 7, "청량리동": 9, "회기동": 6, "휘경1동": 5, "휘경2동": 5, "이문1동": 6, "이문2동": 5,
}

# (industry, weight, typical employees upper bound). 주점업 and 숙박업 are excluded by both
# loan programs: their applications fail screening, as they do at the center.
INDUSTRIES: list[tuple[str, int, int]] = [
    ("음식점업", 24, 4), ("커피전문점", 7, 3), ("제과점업", 3, 4), ("식료품 소매업", 8, 3), ("청과물 도매업", 5, 4),
    ("한약재 도매업", 4, 3), ("의류 소매업", 7, 2), ("의류 도매업", 5, 4), ("봉제 의복 제조업", 5, 9), ("미용업", 6, 2),
    ("세탁업", 3, 1), ("편의점", 3, 3), ("학원", 3, 4), ("자동차 정비업", 2, 4), ("인쇄업 제조", 2, 6),
    ("전자제품 수리업", 2, 2), ("꽃 소매업", 1, 1), ("주점업", 3, 3), ("숙박업", 1, 3),
]

NAME_PARTS = (
    ["동대문", "제기", "경동", "청량", "회기", "이문", "장안", "답십리", "전농", "용두", "신설", "휘경", "새봄", "한빛", "바른", "행복", "으뜸", "다온", "미소", "온누리"],
    {"음식점업": ["분식", "식당", "국밥", "칼국수", "반찬"], "커피전문점": ["커피", "카페"], "제과점업": ["베이커리", "제과"],
     "식료품 소매업": ["마트", "상회"], "청과물 도매업": ["청과", "과일"], "한약재 도매업": ["약초", "한약재"],
     "의류 소매업": ["옷가게", "패션"], "의류 도매업": ["의류", "섬유"], "봉제 의복 제조업": ["봉제", "어패럴"],
     "미용업": ["헤어", "미용실"], "세탁업": ["세탁소", "크리닝"], "편의점": ["편의점"], "학원": ["학원", "교습소"],
     "자동차 정비업": ["카센터", "모터스"], "인쇄업 제조": ["인쇄", "기획"], "전자제품 수리업": ["전자", "수리"],
     "꽃 소매업": ["꽃집", "플라워"], "주점업": ["호프", "포차"], "숙박업": ["모텔", "게스트하우스"]},
)

# Monthly weight of first visits: the center opened in December 2024 and ramped up.
MONTH_WEIGHTS = {1: 12, 2: 14, 3: 17, 4: 18, 5: 19, 6: 20}

PROGRAM_DOCUMENTS = {
    "sme_development_fund": ["application_form", "fund_use_plan", "sme_confirmation"],
    "bank_cooperation": ["application_form", "sme_confirmation"],
}
LIMITS = {True: 50_000_000, False: 100_000_000}  # micro-business / SME, both programs
FUND_BUDGET_KRW = 3_000_000_000

# Referral rules of the referrals service (a visit's needs -> agency, program), used to
# know how many referrals to expect, never to make them: the services do that.
VISIT_REFERRALS: dict[str, list[tuple[str, str]]] = {
    "closure_support": [("SEMAS", "hope_return_package")],
    "restart_support": [("SEMAS", "restart_support")],
    "insurance": [("KBIZ", "yellow_umbrella"), ("EMPLOYMENT_INSURANCE", "self_employed_insurance")],
    "education": [("SEMAS", "education")],
}
VISIT_NEEDS = {"consulting", "closure_support", "restart_support"}  # needs that make visits schedule one

# Who records a repayment at the desk (development users: staff and loan officers), and the share
# of disbursed loans whose borrower pays one instalment of the half-year a week or two late.
CASHIERS = ("S-1001", "S-1002", "L-3001", "L-3002")
LATE_PAYERS = 0.2
# Details owners come back to change: a few shops without a loan (a loan's screening read the
# business as registered) take on or lose staff.
DETAILS_CHANGE_SHARE = 0.04


def check_digit(first_nine: str) -> int:
    """Check digit of a business registration number (reference/dongdaemun.md)."""
    weights = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, weights, strict=True)) + (digits[8] * 5) // 10
    return (10 - total % 10) % 10


class RegistrationNumbers:
    """Valid, never-repeating registration numbers, deterministic from the seed.

    The i-th number's seven free digits are an affine permutation of i over 10^7 (so two
    different i never meet), and digits 4-5 say "individual, taxable" (01-79) or, now and
    then, "corporation" (81): never the same number twice, whatever the kind digits."""

    SPACE = 9_000_000  # seven digits, the first one non-zero

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"regno:{seed}")
        self._a = rng.randrange(1, self.SPACE)
        while _gcd(self._a, self.SPACE) != 1:
            self._a += 1
        self._b = rng.randrange(self.SPACE)
        self._rng = rng
        self._i = 0

    def next(self) -> str:
        free = f"{(self._a * self._i + self._b) % self.SPACE + 1_000_000:07d}"
        self._i += 1
        kind = "81" if self._rng.random() < 0.06 else f"{self._rng.randint(1, 79):02d}"
        first_nine = free[:3] + kind + free[3:]
        return first_nine + str(check_digit(first_nine))


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def hyphenated(number: str) -> str:
    return f"{number[:3]}-{number[3:5]}-{number[5:]}"


def keyed_rng(seed: int, *key: object) -> random.Random:
    """A generator for one decision about one thing (e.g. an agency's answer to the
    referral for shop 17's program X): the same whatever order things arrive in."""
    digest = hashlib.sha256(":".join(map(str, (seed, *key))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def workday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def workday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def at_seoul(day: date, hour: int = 10) -> str:
    return datetime.combine(day, time(hour), SEOUL).isoformat()


@dataclass
class VisitPlan:
    requested_on: date
    channel: str
    request_needs: list[str]
    visited_on: date
    outcome: str
    needs_identified: list[str]
    services_given: list[str]
    follow_ups: list[dict[str, str]]
    notes: str


@dataclass
class Shop:
    seq: int
    registration_number: str | None
    name: str
    dong: str
    industry: str
    employees: int
    stage: str
    registered_on: date | None
    visits: list[VisitPlan] = field(default_factory=list)
    consent_agencies: list[str] = field(default_factory=list)
    consent_on: date | None = None
    loan: int | None = None  # LoanPlan.seq
    # The owner staff record at registration: personal data, which stays in intake.
    owner_name: str = ""
    owner_phone: str = ""
    employees_later: int | None = None  # a change of details (PATCH) after registration

    @property
    def clerk(self) -> str:
        """The staff person at the desk for this shop (in turn)."""
        return ("S-1001", "S-1002")[self.seq % 2]

    @property
    def is_micro(self) -> bool:
        limit = 10 if any(w in self.industry for w in ("광업", "제조", "건설", "운수")) else 5
        return self.employees < limit

    def business_body(self) -> dict:
        body = {"name": self.name, "dong": self.dong, "industry": self.industry, "employees": self.employees, "stage": self.stage}
        if self.registration_number:
            body["registration_number"] = hyphenated(self.registration_number)
        if self.registered_on:
            body["registered_on"] = self.registered_on.isoformat()
        return body


@dataclass
class LoanPlan:
    seq: int
    shop: int
    program: str
    amount_krw: int
    purpose: str
    term_months: int
    documents: list[str]
    submitted_on: date
    via_visit: bool  # completes the draft the visit made, else a walk-in application
    guarantee_issued: bool  # bank cooperation: the foundation's answer
    guarantee_krw: int
    guarantee_on: date
    approve: bool
    approved_krw: int
    decided_on: date
    reject_reasons: list[str]
    disburse: bool
    disbursed_on: date
    bank_rate_pct: str

    @property
    def disbursed_in_period(self) -> bool:
        return self.approve and self.disburse and self.disbursed_on <= H1_END

    def body(self) -> dict:
        return {
            "program": self.program, "amount_krw": self.amount_krw, "purpose": self.purpose, "term_months": self.term_months,
            "documents": self.documents, "submitted_on": self.submitted_on.isoformat(),
        }


@dataclass(frozen=True)
class RepaymentPlan:
    """One instalment of the half-year paid: due on `due_on` (the schedule's: a month after
    another from the disbursement), paid on `paid_on` by `by` (a cashier)."""

    instalment: int
    due_on: date
    paid_on: date
    by: str

    @property
    def late(self) -> bool:
        return self.paid_on > self.due_on


def add_months(day: date, months: int) -> date:
    """As loans' schedule dates its instalments (the same day of the month, or the month's last)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def repayments_of(seed: int, loan: LoanPlan) -> list[RepaymentPlan]:
    """The instalments of a loan disbursed in the half-year that fall due in it, each paid in
    full: by its due date (a workday), except, for a few borrowers, one paid 7-14 days late (loans then announces it missed, as of that repayment's date, and the repayment
    clears it)."""
    if not loan.disbursed_in_period:
        return []
    dues = []
    while (due := add_months(loan.disbursed_on, len(dues) + 1)) <= H1_END:
        dues.append(due)
    r = keyed_rng(seed, "repayments", loan.seq)
    late = r.randrange(len(dues)) + 1 if dues and r.random() < LATE_PAYERS else None
    planned = []
    for number, due in enumerate(dues, start=1):
        # At the desk, on a workday: on time means by the due date (the Friday before a weekend one).
        if number == late:
            paid = workday_on_or_after(due + timedelta(days=r.randint(7, 14)))
        else:
            paid = workday_on_or_before(due - timedelta(days=r.choice([0, 0, 0, 1, 2])))
        planned.append(RepaymentPlan(number, due, paid, r.choice(CASHIERS)))
    return planned


@dataclass
class DistrictPlan:
    """An alley-type shopping district (골목형상점가): a block of `east_m` x `north_m` metres from
    `corner` (longitude, latitude), less `excluded_m2` of roads and common areas; its member
    shops (by seq) with their offsets in metres from the corner (the last one across the road,
    outside the boundary: a member that does not count)."""

    seq: int
    name: str
    dong: str
    association: str
    representative: tuple[str, str]  # (name, phone): personal data, kept in districts only
    corner: tuple[float, float]
    east_m: float
    north_m: float
    excluded_m2: float
    proposed_on: date
    designated_on: date
    members: list[int]
    offsets: list[tuple[float, float]]
    onnuri: list[bool]

    @property
    def counted_area_m2(self) -> float:
        return self.east_m * self.north_m - self.excluded_m2


@dataclass
class ContestPlan:
    """A public contest (공모사업) call and each designated district's entry and result."""

    organiser: str
    title: str
    budget_krw: int
    opens_on: date
    deadline: date
    announced_on: date
    entries: list[tuple[int, date, int, bool, int]]  # (district seq, entered on, requested, selected, awarded)
    late_entry: tuple[int, date] | None = None  # an entry after the deadline, refused by the rule "deadline"


@dataclass
class Plan:
    seed: int
    shops: list[Shop]
    loans: list[LoanPlan]
    visited_shops: int
    districts: list[DistrictPlan] = field(default_factory=list)
    contests: list[ContestPlan] = field(default_factory=list)

    @property
    def visits(self) -> int:
        return sum(len(s.visits) for s in self.shops)

    def repayments(self, loan: LoanPlan) -> list[RepaymentPlan]:
        return repayments_of(self.seed, loan)

    def count(self, program: str) -> int:
        return sum(1 for loan in self.loans if loan.program == program)

    def expected_visit_referrals(self) -> dict[str, int]:
        """Referrals the support requests and visits should make and *send*, per agency."""
        sent: dict[str, int] = {}
        for shop in self.shops:
            for referral in sent_referrals(shop):
                sent[referral.agency] = sent.get(referral.agency, 0) + 1
        return sent


@dataclass(frozen=True)
class SentReferral:
    visit_index: int
    cause: str  # support_request (the visit's request) or visit
    need: str
    agency: str
    program: str
    referred_on: date


def sent_referrals(shop: Shop) -> list[SentReferral]:
    """The referrals a shop's support requests and visits make and *send* (consent covers the
    agency): the referrals service's rules, one 30-day rule for both causes, in the order
    referrals sees the causes (a visit's request, then the visit)."""
    found: list[SentReferral] = []
    last: dict[str, list[date]] = {}
    for index, visit in enumerate(shop.visits):
        for day, needs, cause in ((visit.requested_on, visit.request_needs, "support_request"),
                                  (visit.visited_on, visit.needs_identified, "visit")):
            seen: set[tuple[str, str]] = set()
            for need in needs:
                for agency, program in VISIT_REFERRALS.get(need, []):
                    if (agency, program) in seen:
                        continue
                    seen.add((agency, program))
                    earlier = last.setdefault(program, [])
                    if any(abs((day - d).days) < 30 for d in earlier):
                        continue
                    earlier.append(day)
                    if agency in shop.consent_agencies:
                        found.append(SentReferral(index, cause, need, agency, program, day))
    return found


def _choice(rng: random.Random, weighted: dict | Sequence[tuple]) -> object:
    items = list(weighted.items()) if isinstance(weighted, dict) else [(w[0], w[1]) for w in weighted]
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def _day_in_month(rng: random.Random, month: int, first: date, last: date) -> date:
    start = max(first, date(2025, month, 1))
    end = min(last, (date(2025, month + 1, 1) if month < 12 else date(2026, 1, 1)) - timedelta(days=1))
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def _amount(rng: random.Random, micro: bool) -> int:
    steps = [10, 15, 20, 20, 25, 30, 30, 40, 50] if micro else [20, 30, 50, 50, 70, 100]
    return rng.choice(steps) * 1_000_000


SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN_SYLLABLES = "민서지현준우예도하윤수연채은성재영태혜진"


def _owner(seed: int, seq: int) -> tuple[str, str]:
    """A shop owner's name and mobile number, from their own generator (the rest of the
    plan does not depend on them)."""
    r = keyed_rng(seed, "owner", seq)
    name = r.choice(SURNAMES) + "".join(r.choice(GIVEN_SYLLABLES) for _ in range(2))
    return name, f"010-{r.randrange(2000, 10000)}-{r.randrange(10000):04d}"


# The district had 7 designated alley-type shopping districts in August 2025 (reference/dongdaemun.md);
# the demo's are simulated (names, boundaries and members are made up), designated by H1 2025's end.
DESIGNATED_DISTRICTS = 7
DISTRICT_ORIGINS: dict[str, tuple[float, float]] = {  # a corner near each dong's commercial street (approximate)
    "제기동": (127.0380, 37.5805), "청량리동": (127.0450, 37.5830), "장안1동": (127.0680, 37.5700), "장안2동": (127.0710, 37.5740),
    "회기동": (127.0520, 37.5895), "이문1동": (127.0600, 37.5960), "용두동": (127.0300, 37.5760), "답십리1동": (127.0540, 37.5670),
    "전농1동": (127.0470, 37.5780), "휘경1동": (127.0610, 37.5880), "신설동": (127.0250, 37.5750), "전농2동": (127.0580, 37.5800),
    "답십리2동": (127.0620, 37.5660), "휘경2동": (127.0650, 37.5850), "이문2동": (127.0630, 37.6010),
}


def plan_districts(seed: int, shops: list[Shop]) -> tuple[list[DistrictPlan], list[ContestPlan]]:
    """Up to DESIGNATED_DISTRICTS districts, as many as the operating shops can fill (15 per
    2,000 m² counted, by Dongdaemun's ordinance, plus a few), and one contest round."""
    rng = keyed_rng(seed, "districts")
    operating = [s for s in shops if s.stage == "operating" and s.registration_number]
    by_dong: dict[str, list[Shop]] = {}
    for shop in operating:
        by_dong.setdefault(shop.dong, []).append(shop)
    dongs = sorted(by_dong, key=lambda d: (-len(by_dong[d]), d))
    taken: set[int] = set()
    districts: list[DistrictPlan] = []
    for seq in range(DESIGNATED_DISTRICTS):
        r = keyed_rng(seed, "district", seq)
        east, north = float(r.randrange(50, 80)), float(r.randrange(40, 60))
        excluded = float(round(east * north * r.uniform(0.2, 0.35)))
        required = -(-15 * max(east * north - excluded, 2000) // 2000)
        inside = int(required) + r.randint(1, 4)
        dong = dongs[seq % len(dongs)] if dongs else "제기동"
        pool = [s for s in by_dong.get(dong, []) if s.seq not in taken] + [s for s in operating if s.seq not in taken and s.dong != dong]
        if len(pool) < inside + 1:
            break  # a small run: fewer districts
        members = [s.seq for s in pool[: inside + 1]]
        taken.update(members)
        offsets = [(r.uniform(2, east - 2), r.uniform(2, north - 2)) for _ in range(inside)] + [(-12.0, north / 2)]
        proposed = date(2023, 3, 6) + timedelta(days=100 * seq)
        designated = workday_on_or_after(proposed + timedelta(days=r.randrange(40, 80)))
        name = f"{dong} 골목형상점가 {seq + 1}호 (모의)"
        rep = (f"{r.choice('김이박최정강조윤장임')}{r.choice(['영수', '미경', '정호', '순자', '상철', '은희'])}",
               f"010-{r.randrange(2000, 9999)}-{r.randrange(1000, 9999)}")
        districts.append(DistrictPlan(seq, name, dong, f"{dong} 골목상인회 {seq + 1}", rep, DISTRICT_ORIGINS.get(dong, (127.04, 37.58)),
                                      east, north, excluded, proposed, designated, members, offsets,
                                      [r.random() < 0.7 for _ in members]))
    contests: list[ContestPlan] = []
    if districts:
        entries, budget, awarded = [], 300_000_000, 0
        for d in districts:
            requested = rng.randrange(40, 90) * 1_000_000
            selected = rng.random() < 0.5 and awarded + requested <= budget
            amount = requested if selected else 0
            awarded += amount
            entries.append((d.seq, date(2025, 5, 2) + timedelta(days=d.seq), requested, selected, amount))
        contests.append(ContestPlan("서울특별시", "2025 골목상권 활성화 공모사업", budget, date(2025, 4, 1), date(2025, 5, 15),
                                    date(2025, 6, 20), entries, late_entry=(districts[0].seq, date(2025, 5, 16))))
    return districts, contests


def make_plan(seed: int = 2025, shops: int = 4500, bank: int = 118, fund: int = 130) -> Plan:
    """The half-year: `shops` distinct shops visited, `bank` + `fund` loan applications."""
    if bank + fund > shops + (bank + fund):
        raise ValueError("sizes")
    rng = random.Random(seed)
    numbers = RegistrationNumbers(seed)
    applications = bank + fund
    walk_ins = round(applications * 0.1)  # applicants who came to the desk without a visit
    from_visits = applications - walk_ins
    if from_visits > shops:
        raise ValueError(f"{applications} applications need at least {from_visits} visited shops")

    all_shops: list[Shop] = []
    industries = [(i, w) for i, w, _ in INDUSTRIES]
    max_staff = {i: m for i, _, m in INDUSTRIES}
    for seq in range(shops + walk_ins):
        industry = str(_choice(rng, industries))
        walk_in = seq >= shops
        stage = "operating" if walk_in else str(_choice(rng, {"operating": 76, "closing": 10, "restarting": 6, "prospective": 8}))
        employees = min(rng.choice([0, 0, 1, 1, 1, 2, 2, 3, 4, 5, 6, 8, 12]), max_staff[industry] + rng.choice([0, 0, 0, 0, 2, 6]))
        registered_on = None
        number = None
        if stage != "prospective":
            number = numbers.next()
            registered_on = date(1998, 1, 5) + timedelta(days=rng.randrange((date(2024, 6, 28) - date(1998, 1, 5)).days))
        else:
            employees = 0
        words, kinds = NAME_PARTS
        name = f"{rng.choice(words)} {rng.choice(kinds[industry])}"
        if rng.random() < 0.3:
            name += f" {rng.randint(1, 3)}호점"
        owner_name, owner_phone = _owner(seed, seq)
        all_shops.append(Shop(seq, number, name, str(_choice(rng, DONGS)), industry, employees, stage, registered_on,
                              owner_name=owner_name, owner_phone=owner_phone))

    # ---- loan applications: their shops and dates first (visits are planned around them)
    eligible_shops = [s for s in all_shops[:shops] if s.stage in ("operating", "closing", "restarting")]
    if len(eligible_shops) < from_visits:
        raise ValueError("not enough trading shops for the applications")
    applicant_shops = rng.sample(eligible_shops, from_visits) + all_shops[shops:]
    programs = ["bank_cooperation"] * bank + ["sme_development_fund"] * fund
    rng.shuffle(programs)
    loans: list[LoanPlan] = []
    for seq, (shop, program) in enumerate(zip(applicant_shops, programs, strict=True)):
        r = keyed_rng(seed, "loan", seq)
        if program == "sme_development_fund":
            if r.random() < 0.06:  # came before the round opened: refused (round_open)
                submitted = date(2025, 3, 17) + timedelta(days=r.randrange(30))
            else:  # the rush when the round opens, then steady
                submitted = FUND_ROUND_OPENS + timedelta(days=min(int(r.expovariate(1 / 18)), (H1_END - FUND_ROUND_OPENS).days))
        else:
            submitted = date(2025, 1, 20) + timedelta(days=r.randrange((H1_END - date(2025, 1, 20)).days + 1))
        submitted = workday_on_or_before(submitted)
        if r.random() < 0.08 and shop.registered_on is not None:  # registered less than six months before
            shop.registered_on = submitted - timedelta(days=r.randint(40, 170))
        micro = shop.is_micro
        amount = _amount(r, micro)
        if r.random() < 0.025:  # asks above the program's limit
            amount = LIMITS[micro] + 10_000_000
        documents = list(PROGRAM_DOCUMENTS[program])
        if r.random() < 0.05:  # a document missing
            documents.remove(r.choice(documents))
        purpose = "operating" if program == "sme_development_fund" or r.random() < 0.7 else "facility"
        guarantee_issued = r.random() < 0.82
        guarantee_krw = amount if r.random() < 0.7 else max(5_000_000, int(amount * r.choice([0.6, 0.7, 0.8, 0.9]) // 1_000_000 * 1_000_000))
        guarantee_on = submitted + timedelta(days=r.randint(4, 14))
        approve = r.random() < (0.9 if program == "bank_cooperation" else 0.86)
        cap = min(amount, LIMITS[micro], guarantee_krw if program == "bank_cooperation" else amount)
        approved = cap if r.random() < 0.75 else max(5_000_000, cap * r.choice([6, 7, 8, 9]) // 10 // 1_000_000 * 1_000_000)
        decided = max(submitted + timedelta(days=r.randint(7, 20)), guarantee_on + timedelta(days=r.randint(2, 6)))
        reasons = [r.choice(["상환 능력 부족: 최근 매출 급감", "신용 평가 기준 미달", "자금 사용 계획 불충분", "기존 채무 과다"])]
        loans.append(LoanPlan(
            seq=seq, shop=shop.seq, program=program, amount_krw=amount, purpose=purpose, term_months=60, documents=documents,
            submitted_on=submitted, via_visit=shop.seq < shops, guarantee_issued=guarantee_issued, guarantee_krw=guarantee_krw,
            guarantee_on=guarantee_on, approve=approve, approved_krw=approved, decided_on=workday_on_or_after(decided),
            reject_reasons=reasons, disburse=r.random() < 0.72, disbursed_on=workday_on_or_after(decided + timedelta(days=r.randint(3, 10))),
            bank_rate_pct=r.choice(["4.200", "4.500", "4.800", "5.100", "5.400"]),
        ))
        shop.loan = seq
        # Consent to share with the guarantee foundation (and SEMAS) before applying; a few
        # owners do not sign, and their guarantee referral waits (held) for consent.
        if program == "bank_cooperation" and r.random() < 0.96:
            shop.consent_agencies = ["SEOUL_CREDIT_GUARANTEE", "SEMAS"]
            shop.consent_on = submitted - timedelta(days=1)
        elif r.random() < 0.4:
            shop.consent_agencies = ["SEMAS"]
            shop.consent_on = submitted - timedelta(days=1)

    # Keep the fund's first round within its budget, so screening order cannot matter.
    fund_total = sum(loan.amount_krw for loan in loans if loan.program == "sme_development_fund")
    while fund_total > FUND_BUDGET_KRW * 0.95:
        biggest = max((loan for loan in loans if loan.program == "sme_development_fund"), key=lambda x: (x.amount_krw, -x.seq))
        biggest.amount_krw -= 5_000_000
        biggest.approved_krw = min(biggest.approved_krw, biggest.amount_krw)
        biggest.guarantee_krw = min(biggest.guarantee_krw, biggest.amount_krw)
        fund_total -= 5_000_000

    # ---- visits
    for shop in all_shops[:shops]:
        r = keyed_rng(seed, "visits", shop.seq)
        loan = loans[shop.loan] if shop.loan is not None else None
        if loan is not None:
            latest = workday_on_or_before(loan.submitted_on - timedelta(days=2))
            requested = max(H1_START, latest - timedelta(days=r.randint(5, 40)))
            requested = min(requested, latest - timedelta(days=1))
        else:
            month = int(_choice(r, MONTH_WEIGHTS))
            requested = _day_in_month(r, month, H1_START, date(2025, 6, 24))
        requested = workday_on_or_after(max(H1_START, requested))
        visited = workday_on_or_after(requested + timedelta(days=r.randint(1, 6)))
        if loan is not None:
            visited = min(visited, workday_on_or_before(loan.submitted_on - timedelta(days=1)))
            visited = max(visited, requested)
        if visited > H1_END:
            visited = workday_on_or_before(H1_END)
        shop.visits.append(_visit(r, shop, requested, visited, first=True, loan=loan is not None))
        if r.random() < 0.12:
            again = workday_on_or_after(visited + timedelta(days=r.randint(14, 60)))
            if again <= date(2025, 6, 23):
                seen = workday_on_or_after(again + timedelta(days=r.randint(1, 5)))
                shop.visits.append(_visit(r, shop, again, min(seen, workday_on_or_before(H1_END)), first=False, loan=False))
        referral_needs = {n for v in shop.visits for n in v.needs_identified if n in VISIT_REFERRALS}
        if referral_needs and r.random() < 0.55:
            agencies = {a for n in referral_needs for a, _ in VISIT_REFERRALS[n]}
            shop.consent_agencies = sorted(set(shop.consent_agencies) | agencies)
            shop.consent_on = min(d for d in (shop.consent_on, shop.visits[0].visited_on) if d is not None)
    for shop in all_shops:
        r = keyed_rng(seed, "details", shop.seq)
        if shop.loan is None and shop.stage == "operating" and r.random() < DETAILS_CHANGE_SHARE:
            shop.employees_later = shop.employees + 1 if shop.employees == 0 or r.random() < 0.6 else shop.employees - 1
    districts, contests = plan_districts(seed, all_shops)
    return Plan(seed=seed, shops=all_shops, loans=loans, visited_shops=shops, districts=districts, contests=contests)


def _visit(r: random.Random, shop: Shop, requested: date, visited: date, *, first: bool, loan: bool) -> VisitPlan:
    stage = shop.stage
    base = {"closing": ["closure_support"], "restarting": ["restart_support"]}.get(stage, ["consulting"])
    request_needs = list(base)
    if stage in ("closing", "restarting") and r.random() < 0.5:
        request_needs.append("consulting")
    if loan:
        request_needs.append("loan")
    channel = str(_choice(r, {"phone": 40, "walk_in": 30, "online": 30}))
    outcome = "met"
    if not loan:
        outcome = str(_choice(r, {"met": 92, "owner_absent": 6, "shop_closed": 2 if stage != "closing" else 12}))
    needs: list[str] = []
    services: list[str] = []
    follow_ups: list[dict[str, str]] = []
    notes = "사장님 부재, 명함 남김" if outcome == "owner_absent" else ("영업하지 않음" if outcome == "shop_closed" else "")
    if outcome == "met":
        if loan:
            needs = ["loan"] + (["consulting"] if r.random() < 0.4 else [])
            services = ["정책자금 안내", "융자 신청 서류 안내"]
            notes = "운영자금 필요, 융자 신청 예정"
        elif stage == "closing":
            needs = (["closure_support"] if r.random() < 0.8 else ["consulting"]) + (["insurance"] if r.random() < 0.2 else [])
            services = ["폐업 절차 안내"]
            notes = "임대 계약 만료 예정, 폐업 고민 중"
        elif stage == "restarting":
            needs = ["restart_support"] + (["education"] if r.random() < 0.3 else [])
            services = ["재창업 지원 안내"]
            notes = "재창업 준비 중"
        elif stage == "prospective":
            needs = ["consulting"] + (["education"] if r.random() < 0.4 else [])
            services = ["창업 절차 안내"]
            notes = "창업 예정, 상권 분석 희망"
        else:
            needs = ["consulting"] if r.random() < 0.6 else []
            if r.random() < 0.1:
                needs.append("education")
            if r.random() < 0.08:
                needs.append("insurance")
            if r.random() < 0.03:
                needs.append("loan")
            services = [r.choice(["경영 상담", "온라인 판로 안내", "간판 개선 사업 안내", "카드 수수료 지원 안내"])]
            notes = "매장 운영 상황 청취"
        if r.random() < 0.2:
            follow_ups = [{"action": "신청 서류 확인 전화", "due_on": (visited + timedelta(days=7)).isoformat()}]
        if not first:
            notes = "후속 방문: " + notes
    return VisitPlan(
        requested_on=requested, channel=channel, request_needs=request_needs, visited_on=visited, outcome=outcome,
        needs_identified=needs, services_given=services, follow_ups=follow_ups, notes=notes,
    )
