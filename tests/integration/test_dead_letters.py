"""Dead letters operators can work: list, show, redrive, discard, through the operator API
and the command line, against the real broker and PostgreSQL.

The handler bug is the `handler=fail:<ce_type>|<business id>` failpoint (a failure for good
on that business's stage changes in visits); taking it out of the configuration and
restarting is the fix."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import date

import httpx

from sangsaeng_common.contracts.intake import BusinessRegistered, BusinessStageChanged, Stage
from tests.support import OPERATOR, STAFF, Publisher, eventually, headers_of, read_topic, url_for

STAGE_CHANGED = BusinessStageChanged.ce_type()


def registered(business_id: uuid.UUID) -> BusinessRegistered:
    return BusinessRegistered(business_id=business_id, registration_number=None, name="동대문 바른분식", dong="제기동",
                              industry="음식점업", employees=2, is_micro_business=True, stage=Stage.operating,
                              registered_on=date(2023, 3, 2))


def stage_changes(business_id: uuid.UUID) -> list[BusinessStageChanged]:
    return [
        BusinessStageChanged(business_id=business_id, from_stage=Stage.operating, to_stage=Stage.closing, changed_on=date(2025, 5, 2)),
        BusinessStageChanged(business_id=business_id, from_stage=Stage.closing, to_stage=Stage.closed, changed_on=date(2025, 6, 30)),
    ]


async def _rows(stack, sql: str, *args):
    conn = await stack.db()
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _stage(stack, business_id) -> str | None:
    rows = await _rows(stack, "select stage from visits.businesses where id = $1", business_id)
    return rows[0]["stage"] if rows else None


async def _dead_letter_rows(stack, business_id):
    return await _rows(stack, "select * from visits.dead_letters where record_key = $1 order by kafka_offset",
                       str(business_id).encode())


async def _dead_and_parked(stack, business_id):
    rows = await _dead_letter_rows(stack, business_id)
    return rows if [r["status"] for r in rows] == ["dead", "parked"] else None


async def _dlq_copies(stack, event_id: str) -> list:
    return [r for r in await read_topic(stack.bootstrap_servers, "sangsaeng.visits.dlq") if headers_of(r).get("ce_id") == event_id]


async def test_a_redrive_applies_the_dead_letter_then_what_was_parked_behind_it_never_old_over_new(stack):
    business_id = uuid.uuid4()
    failpoint = f"handler=fail:{STAGE_CHANGED}|{business_id}"
    visits = await stack.start("visits", failpoints=failpoint, name="visits-with-the-bug")
    async with Publisher(stack.bootstrap_servers) as publisher:
        await publisher.publish(registered(business_id))
        first, second = [await publisher.publish(change) for change in stage_changes(business_id)]
        other = uuid.uuid4()  # another business's events never wait
        await publisher.publish(registered(other))
        await publisher.publish(stage_changes(other)[0])
    dead, parked = await eventually(lambda: _dead_and_parked(stack, business_id), what="the first change dead, the second parked")
    assert (dead["event_id"], parked["event_id"]) == (first.id, second.id)
    assert dead["reason"] == "handler_error" and "failpoint" in dead["error"] and dead["attempts"] == 1
    assert parked["reason"] == "parked" and parked["attempts"] == 0
    await eventually(lambda: _is(_stage(stack, other), "closing"), what="the other business's change applied")
    # The second change is NOT applied over the missing first: the business stays where it was.
    assert await _stage(stack, business_id) == "operating"
    assert not await _rows(stack, "select 1 from visits.inbox where event_id = any($1::uuid[])", [first.id, second.id])
    assert len(await eventually(lambda: _dlq_copies(stack, str(first.id)), what="the dead letter on the DLQ topic")) == 1
    assert not await _dlq_copies(stack, str(second.id))  # parked is not dead: not on the DLQ topic

    async with httpx.AsyncClient(timeout=30) as client:
        listing = (await client.get(url_for(visits, "/admin/dead-letters"), headers=OPERATOR)).json()
        summary = {(g["consumer"], g["reason"]): g["count"] for g in listing["summary"]}
        assert summary == {("visits", "handler_error"): 1, ("visits", "parked"): 1}
        item = next(i for i in listing["items"] if i["id"] == dead["id"])
        assert item["origin"] == {"topic": "sangsaeng.intake.events", "partition": dead["kafka_partition"], "offset": dead["kafka_offset"]}
        assert item["first_seen"] and item["event_type"] == STAGE_CHANGED and item["key"] == str(business_id)
        shown = (await client.get(url_for(visits, f"/admin/dead-letters/{dead['id']}"), headers=OPERATOR)).json()
        assert {h["key"]: h["value"] for h in shown["headers"]}["ce_id"] == str(first.id)
        assert json.loads(shown["value"])["to_stage"] == "closing"
        assert (await client.get(url_for(visits, "/admin/dead-letters"), headers=STAFF)).status_code == 403
        assert (await client.get(url_for(visits, "/admin/dead-letters"))).status_code == 401
        bad = await client.post(url_for(visits, "/admin/dead-letters/redrive"), json={}, headers=OPERATOR)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        parked_redrive = await client.post(url_for(visits, f"/admin/dead-letters/{parked['id']}/redrive"), headers=OPERATOR)
        assert parked_redrive.status_code == 409, parked_redrive.text  # it follows its key's dead letter

        # Redriven while the bug is still there: back to the DLQ once, with its attempt count, not in a loop.
        again = (await client.post(url_for(visits, f"/admin/dead-letters/{dead['id']}/redrive"), headers=OPERATOR)).json()
        assert again["reports"][0] | {"seconds": 0} == {"consumer": "visits", "selected": 1, "redriven": 0, "released": 0,
                                                      "dead_again": 1, "still_parked": 1, "seconds": 0}
        copies = await eventually(lambda: _list_if(_dlq_copies(stack, str(first.id)), 2), what="the second DLQ copy")
        assert sorted(headers_of(c)["dlq_attempt"] for c in copies) == ["1", "2"]
        await asyncio.sleep(3)  # every chance to loop
        assert len(await _dlq_copies(stack, str(first.id))) == 2
        rows = await _dead_letter_rows(stack, business_id)
        assert [(r["status"], r["attempts"]) for r in rows] == [("dead", 2), ("parked", 0)]
        assert await _stage(stack, business_id) == "operating"

        metrics = (await client.get(url_for(visits, "/metrics"))).text
        assert 'dead_letters_open{consumer="visits",reason="handler_error"} 1.0' in metrics
        assert 'dead_letters_open{consumer="visits",reason="parked"} 1.0' in metrics
        assert 'dead_letter_redrives_total{consumer="visits",result="dead_again"} 1.0' in metrics

        # The fix is configuration: restart without the failpoint, then redrive.
        visits.terminate(timeout=10)
        visits = await stack.start("visits", name="visits-fixed")
        report = (await client.post(url_for(visits, "/admin/dead-letters/redrive"), json={"all": True, "consumer": "visits"},
                                    headers=OPERATOR)).json()
        assert report["reports"][0]["redriven"] == 1 and report["reports"][0]["released"] == 1
        assert await _stage(stack, business_id) == "closed"  # the newer state, reached in order
        history = await _rows(stack, "select to_stage from visits.business_stage_history where business_id = $1 order by position", business_id)
        assert [r["to_stage"] for r in history] == ["closing", "closed"]
        rows = await _dead_letter_rows(stack, business_id)
        assert [r["status"] for r in rows] == ["redriven", "redriven"] and all(r["resolved_by"] == "O-5001" for r in rows)
        assert len(await _rows(stack, "select 1 from visits.inbox where event_id = any($1::uuid[])", [first.id, second.id])) == 2

        # Redriving again finds nothing; the key is free: a later event is applied live.
        report = (await client.post(url_for(visits, "/admin/dead-letters/redrive"), json={"all": True}, headers=OPERATOR)).json()
        assert report["reports"][0]["selected"] == 0
        async with Publisher(stack.bootstrap_servers) as publisher:
            await publisher.publish(BusinessStageChanged(business_id=business_id, from_stage=Stage.closed, to_stage=Stage.restarting,
                                                         changed_on=date(2025, 7, 1)))
        await eventually(lambda: _is(_stage(stack, business_id), "restarting"), what="a later change applied live")
        metrics = (await client.get(url_for(visits, "/metrics"))).text
        assert 'dead_letters_open{consumer="visits"' not in metrics  # none open in this process's life
        assert 'dead_letter_redrives_total{consumer="visits",result="applied"} 1.0' in metrics
        assert 'dead_letter_redrives_total{consumer="visits",result="released"} 1.0' in metrics


async def test_the_same_event_redriven_twice_has_one_effect(stack):
    """Two operators at once, or a redrive of an event a redelivery applied already: the inbox."""
    business_id = uuid.uuid4()
    visits = await stack.start("visits", failpoints=f"handler=fail:{STAGE_CHANGED}|{business_id}", name="visits-with-the-bug")
    async with Publisher(stack.bootstrap_servers) as publisher:
        await publisher.publish(registered(business_id))
        for change in stage_changes(business_id):
            await publisher.publish(change)
    dead, _parked = await eventually(lambda: _dead_and_parked(stack, business_id), what="dead and parked")
    visits.terminate(timeout=10)
    visits = await stack.start("visits", name="visits-fixed")
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(*(client.post(url_for(visits, f"/admin/dead-letters/{dead['id']}/redrive"), headers=OPERATOR)
                                         for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [200, 409, 409]
    history = await _rows(stack, "select to_stage from visits.business_stage_history where business_id = $1 order by position", business_id)
    assert [r["to_stage"] for r in history] == ["closing", "closed"]


async def test_poison_parks_nothing_and_the_command_line_lists_shows_redrives_and_discards(stack):
    visits = await stack.start("visits")
    business_id = uuid.uuid4()
    async with Publisher(stack.bootstrap_servers) as publisher:
        await publisher.publish(registered(business_id))
        envelope = await publisher.publish(stage_changes(business_id)[0], wait=True)
        # A forged copy of the same business's event (schema-invalid), then a valid later change.
        headers = [(k, v.encode()) for k, v in {**envelope.headers(), "ce_id": str(uuid.uuid4())}.items()]
        await publisher.publish_raw("sangsaeng.intake.events", b'{"business_id": "' + str(business_id).encode() + b'", "to_stage": 7}',
                                    key=str(business_id).encode(), headers=headers)
        await publisher.publish(stage_changes(business_id)[1])
    await eventually(lambda: _is(_stage(stack, business_id), "closed"), what="the valid change behind the poison applied")
    rows = await eventually(lambda: _dead_letter_rows(stack, business_id), what="the poison's row")
    assert [(r["status"], r["reason"], r["parks_key"]) for r in rows] == [("dead", "schema_invalid", False)]
    async with httpx.AsyncClient(timeout=10) as client:
        metrics = (await client.get(url_for(visits, "/metrics"))).text
    assert 'dead_letters_open{consumer="visits",reason="schema_invalid"} 1.0' in metrics

    env = {**os.environ, **stack.env("visits")}

    def dlq(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "visits", "dlq", *args], env=env, capture_output=True, text=True, timeout=120)

    listed = dlq("list")
    assert listed.returncode == 0, listed.stderr
    body = json.loads(listed.stdout)
    assert [(g["consumer"], g["reason"], g["count"]) for g in body["summary"]] == [("visits", "schema_invalid", 1)]
    assert body["items"][0]["origin"]["topic"] == "sangsaeng.intake.events"
    shown = dlq("show", str(rows[0]["id"]))
    assert shown.returncode == 0 and '"to_stage": 7' in json.loads(shown.stdout)["value"]
    redriven = dlq("redrive", "--reason", "schema_invalid")
    assert redriven.returncode == 0, redriven.stderr
    assert json.loads(redriven.stdout)[0]["dead_again"] == 1  # still poison: back once, with attempt 2
    copies = await eventually(lambda: _list_if(_dlq_copies(stack, headers[1][1].decode()), 2), what="the second copy")
    assert sorted(headers_of(c)["dlq_attempt"] for c in copies) == ["1", "2"]
    refused = dlq("discard", str(rows[0]["id"]), "--reason", "because")
    assert refused.returncode != 0
    discarded = dlq("discard", str(rows[0]["id"]), "--reason", "unrecoverable", "--note", "forged in the drill of 12 May")
    assert discarded.returncode == 0, discarded.stderr
    row = (await _dead_letter_rows(stack, business_id))[0]
    assert (row["status"], row["discard_reason"], row["discard_note"], row["attempts"]) == ("discarded", "unrecoverable", "forged in the drill of 12 May", 2)
    events = await eventually(lambda: _discarded_events(stack), what="DeadLetterDiscarded on visits' topic")
    data = json.loads(events[0].value)
    assert data["dead_letter_id"] == row["id"] and data["discard_reason"] == "unrecoverable" and data["attempts"] == 2
    assert "drill" not in events[0].value.decode()  # the note stays in the table
    async with httpx.AsyncClient(timeout=10) as client:
        metrics = (await client.get(url_for(visits, "/metrics"))).text
    assert 'dead_letters_open{consumer="visits",reason="schema_invalid"} 0.0' in metrics


async def _discarded_events(stack):
    return [r for r in await read_topic(stack.bootstrap_servers, "sangsaeng.visits.events")
            if headers_of(r)["ce_type"] == "sangsaeng.visits.DeadLetterDiscarded.v1"]


async def _is(value_awaitable, expected):
    return (await value_awaitable) == expected


async def _list_if(awaitable, count: int):
    found = await awaitable
    return found if len(found) >= count else None


async def test_a_replay_holds_back_nothing_behind_an_event_that_fails_there(stack):
    """A replay reads topic by topic, not in the order events were lived, and has no operator to
    redrive: an event failing there (the handler bug, here on the first stage change only) must not
    park its business's later events, or they vanish from the rebuilt read models."""
    business_id = uuid.uuid4()
    await stack.start("visits")
    async with Publisher(stack.bootstrap_servers) as publisher:
        await publisher.publish(registered(business_id))
        first, _second = [await publisher.publish(change) for change in stage_changes(business_id)]
    await eventually(lambda: _is(_stage(stack, business_id), "closed"), what="both changes applied live")
    env = {**os.environ, **stack.env("visits", LOG_LEVEL="WARNING", SANGSAENG_FAILPOINTS=f"handler=fail:{first.id}")}
    replay = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "visits", "replay"], env=env,
                                     capture_output=True, text=True, timeout=300)
    assert "failpoint" in replay.stdout + replay.stderr, replay.stdout + replay.stderr  # the first change failed in the replay
    rebuilt = await _rows(stack, "select stage from visits_replay.businesses where id = $1", business_id)
    assert [r["stage"] for r in rebuilt] == ["closed"]  # the second change was applied, not parked
    history = await _rows(stack, "select to_stage from visits_replay.business_stage_history where business_id = $1", business_id)
    assert [r["to_stage"] for r in history] == ["closed"]
    assert await _rows(stack, "select * from visits_replay.dead_letters") == []  # a replay records no dead letters
