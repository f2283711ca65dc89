"""A nationwide year: 1,000,000 events of the demo's mix on intake's, visits', loans' and
referrals' topics, then every service with read models replayed from Kafka, as an auditor
runs it (`python -m <service> replay`, each in a process of its own, one after the other).

    .venv/bin/python bench/nationwide.py [--quick]

The events: the demo's half-year plan (sangsaeng_demo.plan, seed 2025: its shops, consents,
visits, the referrals its visits make, its 248 loan applications and what became of them)
turned into the events the services would have published, repeated with fresh ids until
there are enough: the demo's proportions exactly. They go straight onto the topics with a
plain aiokafka producer, in the services' own envelope (Envelope.wrap of the contracts'
models: the same headers and JSON as a relay publishes), keyed by business as the relays key
them. No service runs live: the live tables stay empty, so each replay's comparison finds
every rebuilt row "extra" (its exit status is then 1); its events/s and memory are the figures.

Each service is replayed twice: after the first tenth of the events (100,000; --quick: 10,000)
and after all of them (1,000,000; --quick: 100,000), from offset zero each time. Peak RSS is
the process's own high-water mark (ru_maxrss from wait4, which is /proc/<pid>/status VmHWM at
exit); "flat" is judged on the peak at all the events against the peak at a tenth (≤ 1.1×).
The 10M figure extrapolates each service's time at 1M linearly (replays run one after the
other, each on one core; the machine's second core serves PostgreSQL and the broker).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time as clock, timedelta, timezone
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proc import rss_kib  # noqa: E402
from _row import Row  # noqa: E402

WHAT = "a nationwide year: replay of every service from Kafka"
EVENTS, QUICK_EVENTS = 1_000_000, 100_000
FIRST_TENTH = 10
FLAT_WITHIN = 1.10  # RSS at all the events within 10 % of RSS at a tenth of them
MOONSHOT_EVENTS, MOONSHOT_SECONDS = 10_000_000, 300
# The services whose definitions name read models (their CLI has `replay`); the others
# (audit's ledger, the console) have nothing to rebuild.
REPLAYED = ("intake", "visits", "loans", "referrals", "districts")
PARTITIONS = 6
SEOUL = timezone(timedelta(hours=9))
PLANNERS = 8
# The referrals service's rules for a visit's needs (as the demo's plan reads them).
GUARANTEE_PROGRAM = "credit_guarantee"


def _id(kind: int, cycle: int, n: int) -> uuid.UUID:
    """Fresh, never-repeating ids: kind, repetition of the half-year and sequence number apart."""
    return uuid.UUID(int=(kind << 120) | (cycle << 64) | n)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, clock(hour), SEOUL)


def half_year(plan, cycle: int) -> Iterator:
    """The events the services would publish for the demo's half-year, business by business
    (each business's events in their order, as its partition keeps them)."""
    from sangsaeng_common.contracts.common import AgencyCode, Need
    from sangsaeng_common.contracts.intake import BusinessRegistered, ConsentGiven, Stage
    from sangsaeng_common.contracts.loans import (
        GuaranteeRequested, LoanApproved, LoanDisbursed, LoanProgram, LoanRejected, LoanScreened, LoanSubmitted, RejectionReason,
    )
    from sangsaeng_common.contracts.referrals import ReferralSent
    from sangsaeng_common.contracts.visits import FollowUpDue, VisitOutcome, VisitRecorded, VisitScheduled
    from sangsaeng_demo.plan import sent_referrals

    loans = {loan.shop: loan for loan in plan.loans}
    referral = 0
    for shop in plan.shops:
        business = _id(1, cycle, shop.seq)
        yield BusinessRegistered(
            business_id=business, registration_number=f"{cycle % 1000:03d}{shop.seq:07d}" if shop.registration_number else None,
            name=shop.name, dong=shop.dong, industry=shop.industry, employees=shop.employees, is_micro_business=shop.is_micro,
            stage=Stage(shop.stage), registered_on=shop.registered_on)
        consent = _id(2, cycle, shop.seq) if shop.consent_agencies else None
        if consent:
            yield ConsentGiven(consent_id=consent, business_id=business, agencies=[AgencyCode(a) for a in shop.consent_agencies],
                               given_at=_at(shop.consent_on or date(2025, 1, 2)))
        planner = f"planner-{shop.seq % PLANNERS + 1:02d}"
        for n, visit in enumerate(shop.visits):
            visit_id = _id(3, cycle, shop.seq * 16 + n)
            yield VisitScheduled(visit_id=visit_id, business_id=business, planner_id=planner, dong=shop.dong,
                                 scheduled_for=visit.visited_on, needs=[Need(x) for x in visit.request_needs])
            yield VisitRecorded(visit_id=visit_id, business_id=business, planner_id=planner, dong=shop.dong,
                                visited_on=visit.visited_on, outcome=VisitOutcome(visit.outcome),
                                needs_identified=[Need(x) for x in visit.needs_identified], services_given_count=len(visit.services_given),
                                follow_ups=[FollowUpDue(number=i + 1, due_on=date.fromisoformat(f["due_on"]))
                                            for i, f in enumerate(visit.follow_ups)])
        # The referrals the shop's requests and visits make and send (the demo plan's rules).
        for sent in sent_referrals(shop):
            referral += 1
            yield ReferralSent(referral_id=_id(4, cycle, referral), business_id=business, agency=AgencyCode(sent.agency),
                               program=sent.program, reason=f"{sent.cause}:{sent.need}", personal_data_shared=True, consent_id=consent,
                               sent_at=_at(sent.referred_on, 11), referred_on=sent.referred_on)
        loan = loans.get(shop.seq)
        if loan is None:
            continue
        application, program = _id(5, cycle, loan.seq), LoanProgram(loan.program)
        yield LoanSubmitted(application_id=application, business_id=business, program=program, amount_krw=loan.amount_krw,
                            purpose=loan.purpose, term_months=loan.term_months, submitted_on=loan.submitted_on)
        yield LoanScreened(application_id=application, business_id=business, program=program, eligible=True,
                           round_id="2025-1" if program is LoanProgram.sme_development_fund else None,
                           reserved_krw=loan.amount_krw if program is LoanProgram.sme_development_fund else 0,
                           screened_on=loan.submitted_on)
        if program is LoanProgram.bank_cooperation:
            yield GuaranteeRequested(application_id=application, business_id=business, amount_krw=loan.amount_krw,
                                     requested_on=loan.submitted_on)
            referral += 1
            yield ReferralSent(referral_id=_id(4, cycle, referral), business_id=business, agency=AgencyCode.SEOUL_CREDIT_GUARANTEE,
                               program=GUARANTEE_PROGRAM, reason="loan:guarantee", sent_at=_at(loan.submitted_on, 12),
                               referred_on=loan.submitted_on, application_id=application, amount_krw=loan.amount_krw)
        if loan.approve and (program is LoanProgram.sme_development_fund or loan.guarantee_issued):
            yield LoanApproved(application_id=application, business_id=business, program=program, amount_krw=loan.approved_krw,
                               approved_on=loan.decided_on)
            if loan.disburse:
                yield LoanDisbursed(application_id=application, business_id=business, program=program, amount_krw=loan.approved_krw,
                                    disbursed_on=loan.disbursed_on, annual_rate_pct=float(loan.bank_rate_pct), grace_months=12,
                                    instalments=loan.term_months - 12, first_instalment_on=loan.disbursed_on + timedelta(days=395))
        else:
            reason = (RejectionReason.guarantee_declined if program is LoanProgram.bank_cooperation and not loan.guarantee_issued
                      else RejectionReason.officer_decision)
            yield LoanRejected(application_id=application, business_id=business, program=program, reason_codes=[reason],
                               rejected_on=loan.decided_on)


def nationwide(count: int, plan=None) -> Iterator:
    """`count` events: the demo's half-year again and again, each time with fresh ids."""
    if plan is None:
        from sangsaeng_demo.plan import make_plan

        plan = make_plan()

    def forever() -> Iterator:
        cycle = 0
        while True:
            yield from half_year(plan, cycle)
            cycle += 1

    return islice(forever(), count)


def mix(events) -> Counter:
    """How many events of each type."""
    return Counter(type(e).__name__ for e in events)


def shares(plan) -> str:
    """One half-year's events by producer, as the row's note shows them."""
    by_topic = Counter(e.topic() for e in half_year(plan, 0))
    total = sum(by_topic.values())
    return f"{total:,} events a half-year: " + ", ".join(
        f"{topic.split('.')[1]} {n / total:.0%}" for topic, n in by_topic.most_common())


async def publish(bootstrap: str, events: Iterator, chunk: int = 20_000) -> tuple[int, float]:
    """Every event on its producer's topic with a plain aiokafka producer, in the envelope the
    relays publish; (events, seconds). Acks are awaited a chunk at a time: memory stays flat."""
    from sangsaeng_common.envelope import Envelope
    from sangsaeng_common.kafka import make_producer

    producer = make_producer(bootstrap, "bench-nationwide")
    await producer.start()
    try:
        started, sent, pending = time.perf_counter(), 0, []
        for event in events:
            envelope = Envelope.wrap(event)
            pending.append(await producer.send(event.topic(), key=envelope.key, value=envelope.data, headers=envelope.kafka_headers()))
            sent += 1
            if len(pending) >= chunk:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return sent, time.perf_counter() - started
    finally:
        await producer.stop()


@dataclass(frozen=True)
class Replayed:
    service: str
    events: int
    seconds: float  # the replay's own clock: reading and applying, not the comparison
    wall_seconds: float  # the whole process: start-up, migrations, replay, comparison
    cpu_seconds: float
    peak_rss_kib: int  # ru_maxrss: the process's VmHWM when it exited
    exit_status: int

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _run_and_measure(argv: list[str], env: dict[str, str], out, err) -> tuple[int, float, float, int, int]:
    """Start a process, wait for it with wait4: (exit status, wall, CPU seconds, peak RSS KiB,
    the highest VmRSS sampled while it ran)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
    sampled = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        try:
            sampled = max(sampled, rss_kib(process.pid))
        except (OSError, KeyError):
            pass
        time.sleep(0.2)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return process.returncode, time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, sampled


async def replay(service: str, env: dict[str, str]) -> Replayed:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        status, wall, cpu, peak, _sampled = await asyncio.to_thread(
            _run_and_measure, [sys.executable, "-m", service, "replay"], {**os.environ, **env}, out, err)
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        try:
            report = json.loads(text)
        except json.JSONDecodeError:
            raise RuntimeError(f"{service} replay (exit {status}) gave no report:\n{err.read().decode(errors='replace')[-2000:]}") from None
    return Replayed(service, report["events"], report["seconds"], wall, cpu, peak, status)


def migrate(service: str, env: dict[str, str]) -> None:
    """The live schema the replay compares with (empty: no service runs live here)."""
    subprocess.run([sys.executable, "-m", service, "migrate"], env={**os.environ, **env}, check=True, capture_output=True, timeout=300)


def verdict(small: list[Replayed], large: list[Replayed], events: int) -> tuple[bool, bool, float, list[str]]:
    """(memory flat, moonshot met, seconds extrapolated to 10M, one line per service)."""
    flat, lines, total = True, [], 0.0
    for a, b in zip(small, large, strict=True):
        growth = b.peak_rss_kib / a.peak_rss_kib
        flat &= growth <= FLAT_WITHIN
        total += b.seconds * MOONSHOT_EVENTS / events
        lines.append(f"{b.service} {b.events:,} events {b.per_second:,.0f}/s, peak RSS {b.peak_rss_kib / 1024:,.0f} MiB "
                     f"({a.peak_rss_kib / 1024:,.0f} MiB at {a.events:,}: {growth:.2f}×), wall {b.wall_seconds:.0f} s")
    return flat, total <= MOONSHOT_SECONDS, total, lines


async def measure(quick: bool) -> list[Row]:
    from sangsaeng_common.contracts.intake import BusinessRegistered
    from sangsaeng_common.contracts.loans import LoanSubmitted
    from sangsaeng_common.contracts.referrals import ReferralSent
    from sangsaeng_common.contracts.visits import VisitRecorded
    from sangsaeng_common.kafka import ensure_topics

    from _stack import bench_stack

    events = QUICK_EVENTS if quick else EVENTS
    tenth = events // FIRST_TENTH
    async with bench_stack(provision_only=REPLAYED) as stack:
        await ensure_topics(stack.bootstrap_servers, {e.topic(): PARTITIONS for e in (BusinessRegistered, VisitRecorded, LoanSubmitted, ReferralSent)})
        for service in REPLAYED:
            await asyncio.to_thread(migrate, service, stack.envs[service])
        stream = nationwide(events)
        published, publish_seconds = await publish(stack.bootstrap_servers, islice(stream, tenth))
        small = [await replay(s, stack.envs[s]) for s in REPLAYED]
        more, more_seconds = await publish(stack.bootstrap_servers, stream)
        published, publish_seconds = published + more, publish_seconds + more_seconds
        large = [await replay(s, stack.envs[s]) for s in REPLAYED]
    flat, moonshot, extrapolated, lines = verdict(small, large, events)
    figure = (f"{sum(r.seconds for r in large):,.0f} s for {events:,} events through {len(large)} replays; "
              f"peak RSS {max(r.peak_rss_kib for r in large) / 1024:,.0f} MiB; 10M extrapolated: {extrapolated / 60:,.1f} min")
    note = "; ".join(lines) + "; the mix: " + shares(_plan()) + (f"; {published:,} events published in {publish_seconds:.0f} s "
                               f"({published / publish_seconds:,.0f}/s, plain aiokafka producer)")
    return [Row(WHAT, figure, "—", None, "RSS at all events within 10 % of RSS at a tenth; 10M ≤ 5 min on 2 cores",
                flat and moonshot and not quick, note + ("; quick: the target is judged on 1,000,000 events only" if quick else ""))]


def _plan():
    from sangsaeng_demo.plan import make_plan

    return make_plan()


if __name__ == "__main__":
    from _standalone import main

    main(measure)
