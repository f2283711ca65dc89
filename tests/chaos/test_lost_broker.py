"""A lost broker: the broker process is replaced by an empty one on the same port (the
development broker keeps nothing), and the operator refills it with every service's
`republish` command while the services keep running."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter

import pytest

from sangsaeng_common.kafka import partition_counts
from tests.chaos.scale import size
from tests.chaos.system import SERVICES, Commands, caught_up, command_log, exactly_once, figures, play, start_all, verify_ok
from tests.support import business_body, committed_offsets, eventually, headers_of, read_topic

# The full size runs longer than a test's usual 300 s on a loaded machine.
pytestmark = pytest.mark.timeout(size(600, 1200))


# The development broker itself creates a topic that a running client asks about, with 4
# partitions: the count the test stack configures, so that republish finds every topic as
# configured however the race goes (it reports any other count as a mismatch).
PARTITIONS = {"TOPIC_PARTITIONS": "4"}


async def republish(stack, service: str, *args: str) -> dict:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", service, "republish", *args, env={**os.environ, **stack.env(service, **PARTITIONS), "LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    return json.loads(out)


async def outbox_by_topic(stack) -> dict[str, Counter[str]]:
    """topic -> ce_id -> rows (an event is on a topic once per outbox row)."""
    conn = await stack.db()
    try:
        found: dict[str, Counter[str]] = {}
        for service in SERVICES:
            for row in await conn.fetch(f"select topic, event_id from {service}.outbox"):
                found.setdefault(row["topic"], Counter())[str(row["event_id"])] += 1
        return found
    finally:
        await conn.close()


async def test_an_empty_broker_is_refilled_from_the_outboxes_and_the_ledger_keeps_every_event_once(stack, controllable_broker):
    processes = await start_all(stack, **PARTITIONS)
    api = command_log(processes)
    commands = Commands(processes, api.accepted)
    try:
        first = await play(api, seed=11, shops=size(8, 40), bank=size(2, 5), fund=size(2, 5))
        assert first.problems == []
        await caught_up(stack)
        before = await exactly_once(stack, api.accepted)
        assert before.clean(), before

        rows_before = sum(sum(c.values()) for c in (await outbox_by_topic(stack)).values())
        controllable_broker.restart_empty()  # every topic, record and committed offset is gone

        # The services keep running and taking commands while the operator refills the broker.
        async def commands_meanwhile(tag: str) -> None:
            for i in range(size(3, 10)):
                business = await commands.until_accepted("intake", "/businesses", business_body(), f"{tag}-{i}")
                await commands.until_accepted("intake", "/support-requests", {"business_id": business["id"], "needs": ["consulting"],
                                                                              "channel": "phone"}, f"{tag}-request-{i}")

        # No commands until the topics are back.
        reports = {service: await republish(stack, service) for service in SERVICES}
        # Republishing is safe while the relays publish new events: run visits' again from
        # the middle of its outbox while commands make it schedule visits.
        meanwhile = asyncio.create_task(commands_meanwhile("during"))
        again = await republish(stack, "visits", "--from-sequence", str(max(1, reports["visits"]["events"] // 2)))
        await meanwhile
        assert {s: r["partition_mismatches"] for s, r in reports.items()} == {s: {} for s in SERVICES}
        wanted = await outbox_by_topic(stack)
        assert set((await partition_counts(stack.bootstrap_servers, sorted(wanted))).values()) == {4}
        for topic, events in wanted.items():
            async def refilled(topic=topic, events=events):
                on_topic = Counter(headers_of(r)["ce_id"] for r in await read_topic(stack.bootstrap_servers, topic))
                return all(on_topic[e] >= n for e, n in events.items())
            await eventually(refilled, timeout=60, what=f"every event of the outboxes on {topic}")
        assert sum(r["events"] for r in reports.values()) >= rows_before

        # The consumers' groups lost their offsets: they read every topic from the start again,
        # apply nothing twice, and commit up to the end of what was republished.
        for consumer, topic in (("visits", "sangsaeng.intake.events"), ("loans", "sangsaeng.visits.events"),
                                ("referrals", "sangsaeng.visits.events"), ("audit", "sangsaeng.loans.events"),
                                ("intake-timeline", "sangsaeng.referrals.events")):
            end = len(await read_topic(stack.bootstrap_servers, topic))

            async def reread(consumer=consumer, topic=topic, end=end):
                offsets = await committed_offsets(stack.bootstrap_servers, f"sangsaeng.{consumer}", topic)
                return sum(o or 0 for o in offsets.values()) >= end

            await eventually(reread, timeout=180, interval=0.5, what=f"{consumer} to read {topic} again to its end ({end})")

        await caught_up(stack)
        after_refill = await exactly_once(stack, api.accepted)
        assert after_refill.clean(), after_refill  # the ledger holds the outboxes' events, each once

        # And the system goes on on the new broker.
        await commands_meanwhile("after")
        await caught_up(stack)
        final = await exactly_once(stack, api.accepted)
        assert final.clean(), final
        verify = await verify_ok(processes)
        assert verify["ok"] is True, verify
        figures("lost broker", {
            "events_before": before.events_in_ledger, "republished": {s: r["events"] for s, r in reports.items()},
            "republish_seconds": {s: r["seconds"] for s, r in reports.items()}, "visits_again_from_the_middle": again["events"],
            "ledger_after_refill": after_refill.events_in_ledger, "ledger_final": final.events_in_ledger,
            "commands_accepted": final.commands_accepted, "lost": final.lost, "duplicated": final.duplicated,
            "log_entries": verify["log"]["entries_checked"],
        })
    finally:
        await api.aclose()
        await commands.aclose()
