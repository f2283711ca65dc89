"""The audit ledger against the real broker and database: every event once, in a Merkle tree
of its exact bytes, append-only, tamper-evident; the report computed from it."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import uuid
import json
from datetime import UTC, date, datetime

import asyncpg
import httpx
import pytest

from sangsaeng_common.contracts.loans import GuaranteeRequested, LoanApproved, LoanProgram, LoanScreened, LoanSubmitted
from sangsaeng_common.contracts.referrals import ReferralCompleted, ReferralOutcome
from sangsaeng_common.envelope import Envelope
from tests.support import AUDITOR, STAFF, Publisher, business_body, eventually, headers_for, url_for


async def _publish(stack, *events, actor: str | None = None) -> list[Envelope]:
    async with Publisher(stack.bootstrap_servers) as publisher:
        return [await publisher.publish(event, actor=actor) for event in events]


async def test_every_event_lands_once_in_a_verifiable_append_only_log(stack):
    intake, audit = await asyncio.gather(stack.start("intake"), stack.start("audit"))
    async with httpx.AsyncClient(timeout=30) as client:
        ids = []
        for _ in range(5):
            response = await client.post(url_for(intake, "/businesses"), json=business_body(), headers=STAFF)
            ids.append(response.json()["id"])
        await client.post(url_for(intake, f"/businesses/{ids[0]}/stage"), json={"stage": "closing"}, headers=STAFF)

        conn = await stack.db()
        try:
            async def ledger_has(n: int):
                return await conn.fetchval("select count(*) from audit.ledger") == n

            await eventually(lambda: ledger_has(6), timeout=60, what="6 events in the ledger")
            outbox_ids = {r["event_id"] for r in await conn.fetch("select event_id from intake.outbox")}
            ledger = await conn.fetch("select position, event_id, entry from audit.ledger order by position")
            assert {r["event_id"] for r in ledger} == outbox_ids
            assert [r["position"] for r in ledger] == list(range(1, 7))
            # The tree's leaves are the entries' bytes, hashed as RFC 9162 says, one per entry.
            leaves = await conn.fetch("select index, hash from audit.ledger_tree where level = 0 order by index")
            assert [(r["index"], r["hash"]) for r in leaves] == [(i, hashlib.sha256(b"\x00" + r["entry"]).digest()) for i, r in enumerate(ledger)]

            verified = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
            assert verified["ok"] is True and verified["log"]["entries_checked"] == 6

            # The service runs as its own role, which does not own the schema (the migration
            # owner does): it may insert and read, never change or remove a link, nor get
            # around the trigger by disabling or dropping it, nor drop the ledger.
            sessions = await conn.fetch("select distinct usename from pg_stat_activity where application_name = 'audit' and datname = current_database()")
            assert [r["usename"] for r in sessions] == ["sangsaeng_audit"]
            assert await conn.fetchval("select tableowner from pg_tables where schemaname = 'audit' and tablename = 'ledger'") == "sangsaeng_audit_owner"
            role = await asyncpg.connect(stack.dsns["audit"])
            try:
                assert await role.fetchval("select count(*) from ledger") == 6
                probe = role.transaction()  # an appended entry, rolled back: it was only a probe
                await probe.start()
                row = await role.fetchrow("select * from ledger where position = 6")
                await role.execute(
                    """insert into ledger (position, event_id, event_type, source, subject, event_time, topic, kafka_partition,
                                           kafka_offset, headers, data_text, entry)
                       values (7, gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, '{}', '{}', $8)""",
                    row["event_type"], row["source"], row["subject"], row["event_time"], row["topic"], row["kafka_partition"],
                    row["kafka_offset"] + 1, row["entry"],
                )
                assert await role.fetchval("select count(*) from ledger") == 7
                await probe.rollback()
                assert await role.fetchval("select count(*) from ledger") == 6
                for statement in (
                    "update ledger set data_text = '{}' where position = 2",
                    "delete from ledger where position = 2",
                    "truncate ledger",
                    "alter table ledger disable trigger ledger_no_update_delete",
                    "alter table ledger disable trigger all",
                    "drop trigger ledger_no_update_delete on ledger",
                    "drop trigger ledger_no_truncate on ledger",
                    "drop function ledger_refuse_change() cascade",
                    "drop table ledger",
                    "alter table ledger rename to old_ledger",
                    "create table ledger_copy (x int)",
                    "delete from ledger_head",
                    "update ledger_tree set hash = hash where level = 0",
                    "delete from ledger_tree",
                    "truncate ledger_tree",
                    "update ledger_checkpoints set note = ''",
                    "delete from ledger_checkpoints",
                    "alter table ledger_tree disable trigger all",
                ):
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await role.execute(statement)
            finally:
                await role.close()

            # A superuser who goes around the trigger is still caught by verify, at that link.
            await conn.execute("alter table audit.ledger disable trigger ledger_no_update_delete")
            await conn.execute("update audit.ledger set data_text = data_text || ' ' where position = 3")
            await conn.execute("alter table audit.ledger enable trigger ledger_no_update_delete")
            tampered = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
            assert tampered["ok"] is False
            assert tampered["log"]["first_broken"]["position"] == 3
            assert tampered["log"]["first_broken"]["event_id"] == str(ledger[2]["event_id"])
            assert (await client.get(url_for(audit, "/verify"), headers=STAFF)).status_code == 403
        finally:
            await conn.close()

    cli = subprocess.run(
        [sys.executable, "-m", "audit", "verify"], env={**stack.env("audit")}, capture_output=True, text=True, timeout=60
    )
    assert cli.returncode == 1 and '"position": 3' in cli.stdout


async def test_verify_names_an_approval_that_broke_the_rules_and_the_report_counts_it(stack, tmp_path):
    audit = await stack.start("audit")
    business_id = uuid.uuid4()
    application_id = uuid.uuid4()
    submitted = LoanSubmitted(application_id=application_id, business_id=business_id, program=LoanProgram.bank_cooperation,
                              amount_krw=30_000_000, purpose="operating", submitted_on=date(2025, 5, 2))
    approved = LoanApproved(application_id=application_id, business_id=business_id, program=LoanProgram.bank_cooperation,
                            amount_krw=30_000_000, approved_on=date(2025, 5, 20))
    _, approval = await _publish(stack, submitted, approved)
    async with httpx.AsyncClient(timeout=30) as client:
        async def found():
            result = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
            return result if result["rules"]["events_checked"] == 2 else None

        result = await eventually(found, timeout=60, what="both events in the ledger")
        assert result["log"]["first_broken"] is None
        rules = {f["rule"]: f["event_id"] for f in result["rules"]["findings"]}
        assert rules == {"approval_without_eligible_screening": str(approval.id), "approval_without_guarantee": str(approval.id)}

        report = (await client.get(url_for(audit, "/reports/2025H1"), headers=AUDITOR)).json()
        assert report["loans"]["by_program"] == {"bank_cooperation": {"applications": 1, "amount_krw": 30_000_000, "by_status": {"approved": 1}}}
        assert (await client.get(url_for(audit, "/reports/2025H3"), headers=AUDITOR)).status_code == 422

    out = tmp_path / "reports"
    cli = subprocess.run(
        [sys.executable, "-m", "audit", "report", "--period", "2025H1", "--out", str(out)], env=stack.env("audit"),
        capture_output=True, text=True, timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "bank_cooperation" in cli.stdout
    assert (out / "report-2025H1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "loans_by_program,bank_cooperation,applications,1" in (out / "report-2025H1.csv").read_text()


async def test_migrated_by_the_schema_owner_the_service_runs_with_its_own_role_alone(stack):
    """The Kubernetes shape: an init container migrates as the owner, the service never holds that role."""
    runtime_only = {k: v for k, v in stack.env("audit").items() if k != "MIGRATION_DATABASE_URL"}

    def migrate(env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "audit", "migrate"], env=env, capture_output=True, text=True, timeout=120)

    refused = migrate(runtime_only)
    assert refused.returncode != 0 and "MIGRATION_DATABASE_URL" in refused.stderr, refused.stderr
    migrated = migrate(stack.env("audit"))
    assert migrated.returncode == 0, migrated.stderr

    audit = await stack.start("audit", MIGRATION_DATABASE_URL="")
    await _publish(stack, LoanSubmitted(application_id=uuid.uuid4(), business_id=uuid.uuid4(), program=LoanProgram.bank_cooperation,
                                        amount_krw=10_000_000, purpose="operating", submitted_on=date(2025, 5, 2)))
    async with httpx.AsyncClient(timeout=30) as client:
        async def recorded():
            result = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
            return result if result["log"]["entries_checked"] == 1 else None

        assert (await eventually(recorded, timeout=60, what="the event in the ledger"))["log"]["first_broken"] is None


async def test_an_application_as_it_was_at_two_moments(stack):
    audit = await stack.start("audit")
    business_id, application_id = uuid.uuid4(), uuid.uuid4()
    before_anything = datetime.now(UTC)
    await _publish(
        stack,
        LoanSubmitted(application_id=application_id, business_id=business_id, program=LoanProgram.bank_cooperation,
                      amount_krw=30_000_000, purpose="operating", submitted_on=date(2025, 5, 2)),
        LoanScreened(application_id=application_id, business_id=business_id, program=LoanProgram.bank_cooperation, eligible=True,
                     screened_on=date(2025, 5, 2)),
        GuaranteeRequested(application_id=application_id, business_id=business_id, amount_krw=30_000_000, requested_on=date(2025, 5, 2)),
    )
    url = url_for(audit, f"/applications/{application_id}")
    # The ledger reads loans' and referrals' topics at once: the moment "awaiting guarantee" is one
    # when the first three are in it and the answer is not (else their order there is the fetch's).
    async with httpx.AsyncClient(timeout=30) as client:
        async def first_three():
            answer = await client.get(url, headers=AUDITOR)
            return answer.status_code == 200 and len(answer.json().get("history", ())) == 3

        await eventually(first_three, timeout=60, what="the first three events in the ledger")
    awaiting_guarantee = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await _publish(
        stack,
        ReferralCompleted(referral_id=uuid.uuid4(), business_id=business_id, agency="SEOUL_CREDIT_GUARANTEE",
                          outcome=ReferralOutcome.guarantee_issued, amount_krw=30_000_000, application_id=application_id,
                          completed_on=date(2025, 5, 9)),
        LoanApproved(application_id=application_id, business_id=business_id, program=LoanProgram.bank_cooperation,
                     amount_krw=25_000_000, approved_on=date(2025, 5, 12)),
        actor="L-3002",
    )
    async with httpx.AsyncClient(timeout=30) as client:
        async def recorded():
            now = (await client.get(url, headers=AUDITOR)).json()
            return now if len(now.get("history", ())) == 5 else None

        now = await eventually(recorded, timeout=60, what="the whole application in the ledger")
        assert now["status"] == "approved"
        assert now["decision"] == {"outcome": "approved", "amount_krw": 25_000_000, "approved_on": "2025-05-12"}
        assert now["guarantee"]["outcome"] == "guarantee_issued" and len(now["history"]) == 5
        # who caused each step (ce_actor): none named before events carried an actor, the approver after
        assert [h["actor"] for h in now["history"]] == [None, None, None, "L-3002", "L-3002"], now["history"]

        then = (await client.get(url, params={"at": awaiting_guarantee.isoformat()}, headers=AUDITOR)).json()
        assert then["status"] == "awaiting_guarantee" and then["as_of"] == awaiting_guarantee.isoformat()
        assert then["amount_krw"] == 30_000_000 and "decision" not in then and "outcome" not in then["guarantee"]
        assert [h["status"] for h in then["history"]] == ["submitted", "awaiting_decision", "awaiting_guarantee"]

        missing = await client.get(url, params={"at": before_anything.isoformat()}, headers=AUDITOR)
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
        assert (await client.get(url, headers=STAFF)).status_code == 403
        assert (await client.get(url_for(audit, "/applications/not-an-id"), headers=AUDITOR)).status_code == 422

    cli = subprocess.run([sys.executable, "-m", "audit", "application", str(application_id), "--at", awaiting_guarantee.isoformat()],
                         env=stack.env("audit"), capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == then


async def test_a_discarded_dead_letter_is_recorded_in_the_ledger_and_releases_what_it_held(stack):
    """An operator gives up a dead letter in visits: DeadLetterDiscarded reaches the ledger
    (codes and ids only; the note stays in visits' table), and the event parked behind it
    takes effect."""
    from sangsaeng_common.contracts.intake import BusinessRegistered, BusinessStageChanged, Stage
    from tests.support import OPERATOR

    business_id = uuid.uuid4()
    stage_changed = BusinessStageChanged.ce_type()
    registered = BusinessRegistered(business_id=business_id, registration_number=None, name="회기 꽃집", dong="회기동", industry="소매업",
                                    employees=1, is_micro_business=True, stage=Stage.operating, registered_on=date(2022, 4, 1))
    closing, closed = (Envelope.wrap(BusinessStageChanged(business_id=business_id, from_stage=a, to_stage=b, changed_on=d))
                       for a, b, d in [(Stage.operating, Stage.closing, date(2025, 5, 2)), (Stage.closing, Stage.closed, date(2025, 6, 30))])
    # The handler bug strikes the first change only (by its ce_id): the parked second one can be applied.
    visits, audit = await asyncio.gather(stack.start("visits", failpoints=f"handler=fail:{closing.id}"), stack.start("audit"))
    async with Publisher(stack.bootstrap_servers) as publisher:
        await publisher.publish(registered)
        for envelope in (closing, closed):
            await publisher.publish_envelope(envelope, "sangsaeng.intake.events")
    conn = await stack.db()
    try:
        async def dead_and_parked():
            rows = await conn.fetch("select id, status from visits.dead_letters where record_key = $1 order by kafka_offset", str(business_id).encode())
            return rows if [r["status"] for r in rows] == ["dead", "parked"] else None

        dead, _ = await eventually(dead_and_parked, what="the first change dead, the second parked")
        async with httpx.AsyncClient(timeout=30) as client:
            refused = await client.post(url_for(visits, f"/admin/dead-letters/{dead['id']}/discard"), json={"reason": "because"}, headers=OPERATOR)
            assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "reason", refused.text
            answer = await client.post(url_for(visits, f"/admin/dead-letters/{dead['id']}/discard"),
                                       json={"reason": "superseded", "note": "closure confirmed by phone with 김 사장"}, headers=OPERATOR)
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "discarded" and answer.json()["released"]["released"] == 1
            again = await client.post(url_for(visits, f"/admin/dead-letters/{dead['id']}/discard"), json={"reason": "superseded"}, headers=OPERATOR)
            assert again.status_code == 409

        async def in_ledger():
            return await conn.fetchrow("select subject, data from audit.ledger where event_type = 'sangsaeng.visits.DeadLetterDiscarded.v1'")

        row = await eventually(in_ledger, what="DeadLetterDiscarded in the ledger")
        data = json.loads(row["data"])
        assert row["subject"] == str(business_id)
        assert (data["dead_letter_id"], data["consumer"], data["dead_letter_reason"], data["discard_reason"], data["discarded_by"]) == \
            (dead["id"], "visits", "handler_error", "superseded", "O-5001")  # the operator who resolved it, by subject
        assert data["event_type"] == stage_changed and data["origin_topic"] == "sangsaeng.intake.events"
        assert "김" not in row["data"]  # the operator's note is not in the log
        # The parked change took effect: the business is closed, without the discarded step.
        assert await conn.fetchval("select stage from visits.businesses where id = $1", business_id) == "closed"
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()["ok"] is True
    finally:
        await conn.close()


async def test_verify_finds_a_decision_by_the_submitter_forged_into_a_log_that_verified(stack):
    """A log written around the check: real submissions and a proper decision verify ok; an approval
    published straight to loans' topic with the submitter as its actor (ce_actor) is found."""
    from tests.integration.loans_helpers import Upstream, application_body, known_to_loans, settled

    loans, audit = await asyncio.gather(stack.start("loans"), stack.start("audit"))
    l3001, l3002 = headers_for("L-3001"), headers_for("L-3002")
    async with Upstream(stack.bootstrap_servers) as upstream, httpx.AsyncClient(timeout=30) as client:
        shop, other = await upstream.business(), await upstream.business()
        await known_to_loans(stack, shop, other)
        decided = (await client.post(url_for(loans, "/applications"), json=application_body(shop), headers=l3001)).json()
        await settled(client, loans, decided["id"], "awaiting_decision")
        approved = await client.post(url_for(loans, f"/applications/{decided['id']}/decision"),
                                     json={"decision": "approve", "decided_on": "2025-05-30"}, headers=l3002)
        assert approved.status_code == 200, approved.text
        forged_on = (await client.post(url_for(loans, "/applications"), json=application_body(other), headers=l3001)).json()
        await settled(client, loans, forged_on["id"], "awaiting_decision")

        async def verified(events: int) -> dict | None:
            result = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
            return result if result["rules"]["events_checked"] >= events else None

        # 2 businesses; each application submitted and screened; one approved
        clean = await eventually(lambda: verified(7), timeout=60, what="the clean log in the ledger")
        assert clean["ok"] is True and clean["rules"]["findings"] == [], clean["rules"]

        # The submitter approves their own application, around the service (which refuses it).
        submission = await _ledger_event_id(stack, "LoanSubmitted", forged_on["id"])
        forged = LoanApproved(application_id=uuid.UUID(forged_on["id"]), business_id=other, program=LoanProgram.sme_development_fund,
                              amount_krw=30_000_000, approved_on=date(2025, 5, 30))
        async with Publisher(stack.bootstrap_servers) as publisher:
            approval = await publisher.publish(forged, actor="L-3001")
        result = await eventually(lambda: verified(clean["rules"]["events_checked"] + 1), timeout=60, what="the forged approval in the ledger")
        assert result["ok"] is False and result["log"]["first_broken"] is None  # the log is intact: a rule broke
        assert [(f["rule"], f["event_id"], f["related"]) for f in result["rules"]["findings"]] == [
            ("segregation_of_duties", str(approval.id), [submission])]
        assert "L-3001 approved application" in result["rules"]["findings"][0]["detail"]

    cli = subprocess.run([sys.executable, "-m", "audit", "verify"], env={**stack.env("audit")}, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1 and "segregation_of_duties" in cli.stdout


async def _ledger_event_id(stack, name: str, application_id: str) -> str:
    conn = await stack.db()
    try:
        return str(await conn.fetchval(
            "select event_id from audit.ledger where event_type like $1 and data->>'application_id' = $2", f"%.{name}.%", application_id))
    finally:
        await conn.close()
