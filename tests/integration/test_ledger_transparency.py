"""The audit ledger as a transparency log (contracts/ledger.md), against the real broker and
database: signed checkpoints made, served and published; proofs an outsider checks; exports
that the standalone verifier (integrations/auditor-verify, run as its own process, importing
nothing of ours) verifies, and the tamper matrix: each change caught by that verifier from an
export and by `verify` on the database changed by the ledger's owner around its triggers."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
import rfc8785

from audit.domain.checkpoint import Checkpoint, Signer
from audit.domain.merkle import verify_consistency, verify_inclusion
from sangsaeng_common.contracts.ledger import CHECKPOINTS_TOPIC
from sangsaeng_common.contracts.loans import LoanApproved, LoanProgram, LoanSubmitted
from sangsaeng_common.contracts.referrals import ReferralSent
from sangsaeng_common.contracts.visits import VisitOutcome, VisitRecorded
from tests.support import AUDITOR, OPERATOR, STAFF, HeadersOf, Publisher, eventually, ledger_key_file, ledger_verifier_key, read_topic, url_for

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "integrations" / "auditor-verify" / "auditor_verify.py"
AGENCY = HeadersOf("G-SEMAS")


def run_verifier(*args: str, key: str | None = None) -> subprocess.CompletedProcess:
    """The standalone verifier as an outside auditor runs it: its own process, from /, with only
    the standard library and cryptography to import (no Sangsaeng package on its path)."""
    return subprocess.run([sys.executable, "-I", str(VERIFIER), "--key", key or ledger_verifier_key(), *args],
                          capture_output=True, text=True, timeout=300, cwd="/")


def export(stack, out: Path, period: str | None = None) -> Path:
    argv = [sys.executable, "-m", "audit", "export", "--out", str(out)] + (["--period", period] if period else [])
    done = subprocess.run(argv, env=stack.env("audit"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def _events(business: uuid.UUID) -> list:
    """A half-year recorded later: business dates in 2025, published (ce_time) today."""
    events = []
    for month in (1, 3, 6, 7, 9):
        events.append(VisitRecorded(visit_id=uuid.uuid4(), business_id=business, planner_id="planner-1", dong="제기동",
                                    visited_on=date(2025, month, 12), outcome=VisitOutcome.met))
    for month in (2, 5, 8):
        application = uuid.uuid4()
        events.append(LoanSubmitted(application_id=application, business_id=business, program=LoanProgram.sme_development_fund,
                                    amount_krw=20_000_000, purpose="operating", submitted_on=date(2025, month, 2)))
        events.append(LoanApproved(application_id=application, business_id=business, program=LoanProgram.sme_development_fund,
                                   amount_krw=20_000_000, approved_on=date(2025, month + 1, 3)))
    for month in (4, 10):
        events.append(ReferralSent(referral_id=uuid.uuid4(), business_id=business, agency="SEMAS", program="smart_shop",
                                   reason="consulting", sent_at=datetime.now(UTC), referred_on=date(2025, month, 20)))
    return events


async def _ledger_of(stack, audit, n: int) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        async def recorded():
            result = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
            return result if result["log"]["entries_checked"] >= n else None

        await eventually(recorded, timeout=90, what=f"{n} events in the ledger")


def _lines(directory: Path) -> list[bytes]:
    """The export's entries: one entry's exact bytes per line."""
    return (directory / "entries.jsonl").read_bytes().splitlines()


def _write(directory: Path, lines: list[bytes], **manifest_changes) -> Path:
    """An export changed as a forger would: its entries, and its manifest's count (and more) made to match."""
    (directory / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    manifest = json.loads((directory / "manifest.json").read_text()) | {"entries": len(lines)} | manifest_changes
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def _reencoded(raw: bytes, change) -> bytes:
    entry = json.loads(raw)
    change(entry)
    return rfc8785.dumps(entry)


async def test_checkpoints_proofs_and_entries_are_served_published_and_check_out(stack):
    audit = await stack.start("audit")
    events = _events(uuid.uuid4())
    async with Publisher(stack.bootstrap_servers) as publisher:
        sent = [await publisher.publish(event) for event in events]
    await _ledger_of(stack, audit, len(events))
    async with httpx.AsyncClient(timeout=30) as client:
        async def checkpointed():  # the signer runs every second in the tests (10 s by default)
            answer = await client.get(url_for(audit, "/checkpoint"), headers=AUDITOR)
            return answer.json() if answer.status_code == 200 and answer.json()["tree_size"] == len(events) else None

        latest = await eventually(checkpointed, timeout=30, what="a checkpoint of every event")
        body = f"sangsaeng.dongdaemun.go.kr/ledger\n{len(events)}\n{latest['root_hash']}\n"
        assert latest["note"].startswith(body + "\n\u2014 sangsaeng.dongdaemun.go.kr/ledger ")
        assert (await client.get(url_for(audit, "/checkpoint"), headers=AGENCY)).status_code == 200
        assert (await client.get(url_for(audit, "/checkpoint"), headers=STAFF)).status_code == 403
        same = (await client.get(url_for(audit, "/checkpoints"), params={"size": len(events)}, headers=AGENCY)).json()
        assert [c["root_hash"] for c in same] == [latest["root_hash"]]
        assert (await client.get(url_for(audit, "/checkpoints"), params={"size": 10**6}, headers=AUDITOR)).status_code == 404
        root = base64.b64decode(latest["root_hash"])

        # Entries: the exact bytes, from which anyone recomputes the leaves.
        entries = (await client.get(url_for(audit, "/entries"), params={"start": 0, "end": len(events)}, headers=AUDITOR)).json()["entries"]
        assert [e["index"] for e in entries] == list(range(len(events)))
        raw = [base64.b64decode(e["entry"]) for e in entries]
        decoded = [json.loads(r) for r in raw]
        assert all(r == rfc8785.dumps(d) for r, d in zip(raw, decoded))
        by_id = {dict((n, base64.b64decode(v).decode()) for n, v in d["headers"])["ce_id"]: (i, r) for i, (d, r) in enumerate(zip(decoded, raw))}
        assert set(by_id) == {str(e.id) for e in sent}
        assert base64.b64decode(decoded[0]["value"]) == next(e.data for e in sent if str(e.id) in by_id and by_id[str(e.id)][0] == 0)
        assert (await client.get(url_for(audit, "/entries"), params={"start": 0}, headers=AGENCY)).status_code == 403
        refused = await client.get(url_for(audit, "/entries"), params={"start": 5, "end": 2}, headers=AUDITOR)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "end"

        # An agency proves its referral is in the log: the audit path leads to the signed root.
        referral = sent[-1]
        proof = (await client.get(url_for(audit, "/proofs/inclusion"), params={"event_id": str(referral.id)}, headers=AGENCY)).json()
        index, entry = by_id[str(referral.id)]
        assert (proof["index"], proof["tree_size"]) == (index, len(events))
        assert base64.b64decode(proof["leaf_hash"]) == hashlib.sha256(b"\x00" + entry).digest()
        assert verify_inclusion(index, len(events), base64.b64decode(proof["leaf_hash"]), [base64.b64decode(p) for p in proof["audit_path"]], root)
        assert proof["checkpoint"]["root_hash"] == latest["root_hash"]
        missing = await client.get(url_for(audit, "/proofs/inclusion"), params={"event_id": str(uuid.uuid4())}, headers=AUDITOR)
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")

        # More events, a checkpoint on demand, and the older tree is a prefix of the newer.
        async with Publisher(stack.bootstrap_servers) as publisher:
            for event in _events(uuid.uuid4())[:4]:
                await publisher.publish(event)
        await _ledger_of(stack, audit, len(events) + 4)
        made = (await client.post(url_for(audit, "/checkpoints"), headers=OPERATOR)).json()
        assert made["tree_size"] == len(events) + 4
        consistency = (await client.get(url_for(audit, "/proofs/consistency"), params={"from": len(events)}, headers=AGENCY)).json()
        assert consistency["to"] == made["tree_size"] and consistency["checkpoints"]["from"]["root_hash"] == latest["root_hash"]
        assert verify_consistency(len(events), made["tree_size"], root, base64.b64decode(made["root_hash"]),
                                  [base64.b64decode(p) for p in consistency["proof"]])
        too_far = await client.get(url_for(audit, "/proofs/consistency"), params={"from": 1, "to": 10**6}, headers=AUDITOR)
        assert too_far.status_code == 422 and too_far.json()["errors"][0]["field"] == "to"

        verified = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
        assert verified["log"]["first_broken"] is None and verified["log"]["checkpoints"]["findings"] == []
        assert verified["log"]["checkpoints"]["checked"] >= 2

    # Witnesses keep copies: every checkpoint is published, the signed note byte for byte.
    async def published():
        records = await read_topic(stack.bootstrap_servers, CHECKPOINTS_TOPIC)
        notes = [json.loads(r.value)["note"] for r in records]
        return notes if made["note"] in notes and latest["note"] in notes else None

    notes = await eventually(published, timeout=30, what="the checkpoints on their topic")
    records = await read_topic(stack.bootstrap_servers, CHECKPOINTS_TOPIC)
    assert {dict(r.headers)["ce_type"] for r in records} == {b"sangsaeng.audit.CheckpointSigned.v1"}
    assert all(r.key == b"sangsaeng.dongdaemun.go.kr/ledger" for r in records) and len(set(notes)) == len(notes)


async def test_an_export_of_a_period_holds_exactly_what_the_report_counts_and_verifies_alone(stack, tmp_path):
    audit = await stack.start("audit")
    events = _events(uuid.uuid4())
    async with Publisher(stack.bootstrap_servers) as publisher:
        sent = [await publisher.publish(event) for event in events]
    await _ledger_of(stack, audit, len(events))
    async with httpx.AsyncClient(timeout=30) as client:
        report = (await client.get(url_for(audit, "/reports/2025H1"), headers=AUDITOR)).json()

    period = export(stack, tmp_path / "2025H1", "2025H1")
    lines = _lines(period)
    exported = [json.loads(line) for line in lines]
    proofs = [json.loads(line) for line in (period / "proofs.jsonl").read_text().splitlines()]
    types = [dict((n, base64.b64decode(v).decode()) for n, v in e["headers"])["ce_type"].split(".")[2] for e in exported]
    # What the report counts (dated by visited_on, submitted_on, referred_on) and nothing of H2,
    # though every event was published in 2026: the export selects by the same business date.
    assert types.count("VisitRecorded") == report["visits"]["recorded"] == 3
    assert types.count("LoanSubmitted") == report["loans"]["applications"] == 2
    assert types.count("ReferralSent") == report["referrals"]["sent"] == 1
    assert types.count("LoanApproved") == 2  # approved 2025-03-03 and 2025-06-03 (the third on 2025-09-03 is H2)
    def business_day(event) -> date:
        return next(getattr(event, name) for name in ("visited_on", "submitted_on", "approved_on", "referred_on") if hasattr(event, name))

    h1 = {str(envelope.id) for envelope, event in zip(sent, events) if business_day(event) < date(2025, 7, 1)}
    assert {dict((n, base64.b64decode(v).decode()) for n, v in e["headers"])["ce_id"] for e in exported} == h1
    manifest = json.loads((period / "manifest.json").read_text())
    assert manifest["whole"] is False and manifest["entries"] == len(lines) == len(proofs)
    assert all(proof["inclusion"] for proof in proofs) and [p["index"] for p in proofs] == sorted(p["index"] for p in proofs)

    done = run_verifier("export", str(period))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VERIFIED" in done.stdout and f"each of the {len(lines)} entries is in the signed tree" in done.stdout
    forged = _write(Path(shutil.copytree(period, tmp_path / "forged")), [_reencoded(lines[0], lambda e: e.update(offset=e["offset"] + 1))] + lines[1:])
    done = run_verifier("export", str(forged))
    assert done.returncode == 1 and "inclusion proof fails" in done.stdout, done.stdout


async def test_the_tamper_matrix_is_caught_by_the_standalone_verifier_and_by_verify(stack, tmp_path):
    audit = await stack.start("audit")
    events = [e for e in _events(uuid.uuid4()) if not isinstance(e, LoanApproved)]  # no rule findings: `ok` is the log's alone
    async with Publisher(stack.bootstrap_servers) as publisher:
        # the first names its actor (ce_actor), the others were recorded before events did
        sent = [await publisher.publish(event, actor="S-1001" if i == 0 else None) for i, event in enumerate(events)]
    await _ledger_of(stack, audit, len(events))
    whole = export(stack, tmp_path / "whole")
    lines = _lines(whole)
    manifest = json.loads((whole / "manifest.json").read_text())
    assert manifest["whole"] is True and len(lines) == manifest["tree_size"] == len(events)
    done = run_verifier("export", str(whole))
    assert done.returncode == 0 and f"the root of all {len(events)} entries is the signed root" in done.stdout, done.stdout + done.stderr
    # The ledger keeps the actor in the entry's bytes, as consumed: the verifier reads it there.
    assert f"actors (ce_actor): 1 subjects caused 1 entries; {len(events) - 1} name none" in done.stdout, done.stdout

    # ---- from an export: each change, made by whoever holds the export, fails the verifier.
    other_key = Signer.generate("sangsaeng.dongdaemun.go.kr/ledger")
    center = Signer.parse(ledger_key_file().read_text())
    covering = Checkpoint.parse(manifest["checkpoint"].split("\n\n")[0] + "\n")
    forged_entry = _reencoded(lines[2], lambda e: e.update(offset=10**6))
    bad_proof = manifest["consistency"] | {"proof": [base64.b64encode(b"\x00" * 32).decode()] + manifest["consistency"]["proof"][1:]} \
        if manifest["consistency"]["proof"] else {"from": covering.size, "to": covering.size + 1, "proof": []}

    def header_changed(entry):
        entry["headers"][0][1] = base64.b64encode(b"changed").decode()

    def value_changed(entry):
        value = bytearray(base64.b64decode(entry["value"]))
        value[5] ^= 0x01
        entry["value"] = base64.b64encode(bytes(value)).decode()

    export_cases = {
        "a changed header": (lines[:1] + [_reencoded(lines[1], header_changed)] + lines[2:], {}),
        "a changed value byte": (lines[:3] + [_reencoded(lines[3], value_changed)] + lines[4:], {}),
        "a deleted entry": (lines[:4] + lines[5:], {}),
        "an inserted entry": (lines[:3] + [forged_entry] + lines[3:], {}),
        "two entries swapped": (lines[:2] + [lines[3], lines[2]] + lines[4:], {}),
        "a truncated tail": (lines[:-2], {}),
        "a checkpoint signed by another key": (lines, {"checkpoint": other_key.sign(covering)}),
        "a consistency proof that does not connect": (lines, {"consistency": bad_proof}),
    }
    for name, (changed, manifest_changes) in export_cases.items():
        directory = Path(shutil.copytree(whole, tmp_path / name.replace(" ", "-")))
        done = run_verifier("export", str(_write(directory, changed, **manifest_changes)))
        assert done.returncode == 1 and "NOT VERIFIED" in done.stdout, f"{name}: {done.stdout}"

    # Two checkpoints of one size with different roots (the center's own key signed both): a fork.
    fork_a, fork_b = tmp_path / "a.txt", tmp_path / "b.txt"
    fork_a.write_text(manifest["checkpoint"])
    fork_b.write_text(center.sign(Checkpoint(covering.origin, covering.size, hashlib.sha256(b"another history").digest())))
    done = run_verifier("checkpoints", str(fork_a), str(fork_b))
    assert done.returncode == 1 and "FORK" in done.stdout, done.stdout
    assert run_verifier("checkpoints", str(fork_a), str(fork_a)).returncode == 0

    # ---- on the database: the ledger's owner goes around the triggers; verify catches each.
    owner = await asyncpg.connect(stack.env("audit")["MIGRATION_DATABASE_URL"], server_settings={"search_path": "audit"})
    async with httpx.AsyncClient(timeout=60) as client:
        made = (await client.post(url_for(audit, "/checkpoints"), headers=AUDITOR)).json()
        assert made["tree_size"] == len(events)

        async def verify() -> dict:
            return (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()

        assert (await verify())["ok"] is True
        tables = ("ledger", "ledger_tree", "ledger_checkpoints")
        for table in tables:
            await owner.execute(f"create table saved_{table} as select * from {table}")
        await owner.execute("create table saved_head as select * from ledger_head")
        ledger_columns = "position, event_id, event_type, source, subject, event_time, topic, kafka_partition, kafka_offset, headers, data_text, recorded_at, entry"

        async def restore() -> None:
            async with owner.transaction():
                for table in tables:
                    await owner.execute(f"alter table {table} disable trigger user")
                await owner.execute("delete from ledger; delete from ledger_tree; delete from ledger_checkpoints; delete from ledger_head")
                await owner.execute(f"insert into ledger ({ledger_columns}) select {ledger_columns} from saved_ledger")
                await owner.execute("insert into ledger_tree select * from saved_ledger_tree")
                await owner.execute("insert into ledger_checkpoints overriding system value select * from saved_ledger_checkpoints")
                await owner.execute("insert into ledger_head select * from saved_head")
                for table in tables:
                    await owner.execute(f"alter table {table} enable trigger user")

        entry3 = await owner.fetchval("select entry from ledger where position = 3")
        header_changed_3 = rfc8785.dumps(json.loads(entry3) | {"headers": [[n, base64.b64encode(b"x").decode() if n == "traceparent" else v]
                                                                             for n, v in json.loads(entry3)["headers"]]})
        value = json.loads(entry3)
        raw_value = bytearray(base64.b64decode(value["value"]))
        raw_value[3] ^= 0x01
        value_changed_3 = rfc8785.dumps(value | {"value": base64.b64encode(bytes(raw_value)).decode()})
        forged_checkpoint = Checkpoint(covering.origin, len(events), base64.b64decode(made["root_hash"]))
        other_root = hashlib.sha256(b"another history").digest()
        insert_checkpoint = "insert into ledger_checkpoints (tree_size, root_hash, note, key_id) values ($1, $2, $3, 'x')"
        copy_of_2_at = (f"insert into ledger ({ledger_columns}) select $1, gen_random_uuid(), event_type, source, subject, event_time, topic, "
                        "kafka_partition, kafka_offset + 1000, headers, data_text, recorded_at, entry from ledger where position = 2")
        db_cases = {  # name: ([(statement, args)...], how it is caught, at which position)
            "a changed header": ([("update ledger set entry = $1 where position = 3", [header_changed_3])], "position", 3),
            "a changed header, its leaf made to match": (
                [("update ledger set entry = $1 where position = 3", [header_changed_3]),
                 ("update ledger_tree set hash = sha256('\\x00'::bytea || $1) where level = 0 and index = 2", [header_changed_3])], "position", 4),
            "a changed value byte": ([("update ledger set entry = $1 where position = 3", [value_changed_3])], "position", 3),
            "a deleted entry": ([("delete from ledger where position = 4", [])], "position", 4),
            "an inserted entry": ([("update ledger set position = position + 1000 where position >= 4", []),
                                   ("update ledger set position = position - 999 where position > 1000", []),
                                   (copy_of_2_at, [4])], "position", 4),
            "an entry appended past the tree": ([(copy_of_2_at, [len(events) + 1])], "position", None),
            "two entries swapped": ([("update ledger set position = -2 where position = 2", []), ("update ledger set position = 2 where position = 3", []),
                                     ("update ledger set position = 3 where position = -2", [])], "position", 2),
            "a truncated tail": ([(f"delete from ledger where position = {len(events)}", []),
                                  (f"delete from ledger_tree where (index + 1) * (1::bigint << level) = {len(events)}", []),
                                  (f"update ledger_head set position = {len(events) - 1}", [])], "checkpoint", None),
            "a checkpoint signed by another key": ([(insert_checkpoint, [len(events), forged_checkpoint.root, other_key.sign(forged_checkpoint)])],
                                                   "checkpoint", None),
            "two checkpoints of one size with different roots": (
                [(insert_checkpoint, [len(events), other_root, center.sign(Checkpoint(covering.origin, len(events), other_root))])], "fork", None),
            "a stored tree node that does not connect": ([("update ledger_tree set hash = sha256(hash) where level = 1 and index = 0", [])],
                                                          "position", 2),
            "a stored tree node deleted": ([("delete from ledger_tree where level = 2 and index = 0", [])], "position", 4),
        }
        for name, (statements, caught_as, position) in db_cases.items():
            async with owner.transaction():
                for table in tables:
                    await owner.execute(f"alter table {table} disable trigger user")
                for statement, args in statements:
                    await owner.execute(statement, *args)
                for table in tables:
                    await owner.execute(f"alter table {table} enable trigger user")
            result = await verify()
            assert result["ok"] is False, f"{name}: {result['log']}"
            broken, findings = result["log"]["first_broken"], result["log"]["checkpoints"]["findings"]
            if caught_as == "position":
                assert broken is not None, f"{name}: {result['log']}"
                if position is not None:
                    assert broken["position"] == position, f"{name}: {broken}"
            elif caught_as == "fork":
                assert any(f["problem"].startswith("fork") for f in findings), f"{name}: {findings}"
            else:
                assert findings, f"{name}: {result['log']}"
            cli = subprocess.run([sys.executable, "-m", "audit", "verify"], env=stack.env("audit"), capture_output=True, text=True, timeout=120)
            assert cli.returncode == 1, f"{name}: {cli.stdout[-2000:]}"
            # ... and by the standalone verifier, from an export of the changed database (or the export refuses).
            out = tmp_path / f"db-{name.replace(' ', '-')}"
            # A bad stored node changes no entry: a whole export (the root recomputed from the
            # entries) is right, but the proofs served from that node are not (a period's export).
            argv = [sys.executable, "-m", "audit", "export", "--out", str(out)] + (["--period", "2025"] if "node" in name else [])
            exported = subprocess.run(argv, env=stack.env("audit"), capture_output=True, text=True, timeout=120)
            if name == "an entry appended past the tree":
                # Never signed (the head was not moved): not part of the signed history, which
                # still verifies; the export names what it left out.
                assert exported.returncode == 0 and run_verifier("export", str(out)).returncode == 0, exported.stderr
                assert json.loads((out / "manifest.json").read_text())["not_yet_checkpointed"] == 1
            elif exported.returncode == 0:
                done = run_verifier("export", str(out))
                assert done.returncode == 1, f"{name}: the standalone verifier passed an export of it: {done.stdout}"
            await restore()
            assert (await verify())["ok"] is True, f"restored after {name}"
    await owner.close()


@pytest.mark.timeout(240)
async def test_killed_between_the_entries_and_the_tree_nothing_is_lost_doubled_or_unprovable(stack, tmp_path):
    """The fail point sits between the entries' insert and the tree's update, in one
    transaction: the SIGKILLed consumer committed neither; the restarted one records each event
    once and the checkpoint verifies."""
    events = _events(uuid.uuid4())
    dying = stack.spawn("audit", "consume", failpoints="audit.after_entries=kill")
    async with Publisher(stack.bootstrap_servers) as publisher:
        sent = [await publisher.publish(event) for event in events]

    async def exited():
        return dying.returncode if not dying.running else None

    assert await eventually(exited, timeout=60, what="the consumer to die at its fail point") == -9
    conn = await stack.db()
    try:
        assert await conn.fetchval("select count(*) from audit.ledger") == 0
        assert await conn.fetchval("select count(*) from audit.ledger_tree") == 0
        audit = await stack.start("audit")
        await _ledger_of(stack, audit, len(events))
        ids = [r["event_id"] for r in await conn.fetch("select event_id from audit.ledger order by position")]
        assert sorted(map(str, ids)) == sorted(str(e.id) for e in sent)  # none missing, none doubled
        assert await conn.fetchval("select count(*) from audit.ledger_tree where level = 0") == len(events)
    finally:
        await conn.close()
    done = run_verifier("export", str(export(stack, tmp_path / "after-crash")))
    assert done.returncode == 0 and f"the root of all {len(events)} entries is the signed root" in done.stdout, done.stdout
    async with httpx.AsyncClient(timeout=30) as client:
        verified = (await client.get(url_for(audit, "/verify"), headers=AUDITOR)).json()
    assert verified["log"]["first_broken"] is None and verified["log"]["checkpoints"]["findings"] == []


def test_the_standalone_verifier_imports_only_the_standard_library_and_cryptography():
    import ast

    tree = ast.parse(VERIFIER.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - sys.stdlib_module_names == {"cryptography"}, imported
