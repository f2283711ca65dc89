"""The audit ledger as a transparency log: the standalone verifier over a 1,000,000-entry export,
the append cost per event against the hash chain it replaced, and inclusion-proof latency.

    .venv/bin/python bench/ledger.py [--quick]

1. Verifier: an export of 1,000,000 entries (100,000 with --quick) in the exact format of
   `python -m audit export` (contracts/ledger.md), built here from CloudEvents-shaped records
   (its tree, checkpoint and manifest made with the audit domain's code), then verified whole by
   `integrations/auditor-verify/auditor_verify.py` in its own process: every entry decoded and
   checked canonical, every leaf and the root recomputed, both signatures, the consistency proof.
   Target ≤ 30 s. Baseline: SHA-256 of the same leaves alone, in one Python loop.
2. Append: the real `audit.adapters.ledger.append` (entries + the tree nodes they complete, under
   the head lock) on PostgreSQL, in batches of 500 as a consumer poll gives them, µs per event;
   baseline: the hash chain's append as it was before (migration 0004), same rows, same batches.
3. Inclusion proofs: `GET /proofs/inclusion?event_id=` on the audit API over the ledger filled
   in 2, sequential requests for random events: p50/p99. Baseline: `GET /health` on the same process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _row import Row  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VERIFIER = ROOT / "integrations" / "auditor-verify" / "auditor_verify.py"
VERIFY_TARGET_S = 30.0
ORIGIN = "sangsaeng.dongdaemun.go.kr/ledger"


def _record(i: int):
    """A consumed record as the relay publishes it: CloudEvents headers, business-id key, JSON value."""
    from aiokafka.structs import ConsumerRecord

    from sangsaeng_common.contracts.loans import LoanProgram, LoanSubmitted
    from sangsaeng_common.envelope import Envelope

    business = uuid.UUID(int=i * 7919 + 1)
    envelope = Envelope.wrap(LoanSubmitted(application_id=uuid.UUID(int=i + 10**9), business_id=business, program=LoanProgram.bank_cooperation,
                                           amount_krw=30_000_000, purpose="operating", submitted_on=date(2025, 5, 2)))
    headers = [(k, v.encode()) for k, v in envelope.headers().items()]
    record = ConsumerRecord("sangsaeng.loans.events", i % 6, i // 6, 0, 0, envelope.subject.encode(), envelope.data, None, 0, 0, headers)
    return envelope, record


def build_export(directory: Path, n: int) -> tuple[str, float]:
    """An export of n entries as `audit export` writes it; returns (verifier key, seconds to build)."""
    from audit.adapters.ledger import entry_of
    from audit.domain.checkpoint import Checkpoint, Signer
    from audit.domain.merkle import Frontier, leaf_hash

    started = time.perf_counter()
    signer = Signer.generate(ORIGIN)
    tree = Frontier()
    directory.mkdir(parents=True, exist_ok=True)
    template_env, template = _record(0)
    with (directory / "entries.jsonl").open("wb") as out:
        for i in range(n):
            # The same shape for every record (building a million pydantic events would dominate), made distinct per entry.
            headers = tuple((k, v.replace(str(template_env.id).encode(), str(uuid.UUID(int=i)).encode())) for k, v in template.headers)
            record = dataclasses.replace(template, partition=i % 6, offset=i // 6, headers=list(headers),
                                       value=template.value.replace(b"30000000", str(30_000_000 + i).encode()))
            raw = entry_of(record).to_bytes()
            tree.append(leaf_hash(raw))
            out.write(raw + b"\n")
    note = signer.sign(Checkpoint(ORIGIN, n, tree.root()))
    manifest = {"format": "sangsaeng-ledger-export/1", "origin": ORIGIN, "period": None, "selection": "every entry of the covering tree",
                "entries": n, "whole": True, "tree_size": n, "checkpoint": note, "latest_checkpoint": note,
                "consistency": {"from": n, "to": n, "proof": []}, "not_yet_checkpointed": 0, "verifier_key": signer.verifier_key()}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return signer.verifier_key(), time.perf_counter() - started


def verifier_row(quick: bool) -> Row:
    n = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="ledger-export-") as tmp:
        directory = Path(tmp)
        key, built_s = build_export(directory, n)
        size_mb = (directory / "entries.jsonl").stat().st_size / 1e6
        started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run([sys.executable, "-I", str(VERIFIER), "--key", key, "export", str(directory)],
                              capture_output=True, text=True, timeout=900, cwd="/")
        verify_s, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)  # the verifier and its workers
        if done.returncode != 0 or "VERIFIED" not in done.stdout:
            raise RuntimeError(f"the verifier did not verify the export: {done.stdout[-1500:]} {done.stderr[-1500:]}")
        leaves = [line.rstrip(b"\n") for line, _ in zip((directory / "entries.jsonl").open("rb"), range(100_000))]
    started = time.perf_counter()
    for raw in leaves:
        hashlib.sha256(b"\x00" + raw).digest()
    hash_only_s = (time.perf_counter() - started) * n / len(leaves)
    scaled = verify_s * (1_000_000 / n)
    return Row(f"auditor verifier: whole export of {n:,} entries ({size_mb:,.0f} MB), every leaf and the root recomputed",
               f"{verify_s:.1f} s ({n / verify_s:,.0f} entries/s)" + (f"; ≈ {scaled:.0f} s per 1,000,000" if quick else ""),
               f"{hash_only_s:.1f} s (leaf hashes alone)", verify_s / hash_only_s if hash_only_s else None,
               "≤ 30 s per 1,000,000", scaled <= VERIFY_TARGET_S,
               f"{cpu_s:.0f} CPU-s over {os.cpu_count()} cores ({cpu_s / n * 1e6:.0f} µs CPU per entry: decoding, the RFC 8785 check, "
               f"hashing), load average {os.getloadavg()[0]:.1f} at the end; export built in {built_s:.0f} s")


OLD_SCHEMA = """
create table ledger (
    position bigint primary key, event_id uuid not null unique, event_type text not null, source text not null,
    subject text not null, event_time timestamptz not null, topic text not null, kafka_partition integer not null,
    kafka_offset bigint not null, headers jsonb not null, data_text text not null,
    data jsonb generated always as (data_text::jsonb) stored, prev_hash text not null, hash text not null,
    recorded_at timestamptz not null default now());
create index ledger_type_time on ledger (event_type, event_time);
create index ledger_subject on ledger (subject, position);
create index ledger_application on ledger ((data->>'application_id'), position) where data ? 'application_id';
create table ledger_head (id boolean primary key default true check (id), position bigint not null, hash text not null);
insert into ledger_head values (true, 0, repeat('0', 64));
"""


async def old_chain_append(conn, events) -> int:
    """The hash chain's append before migration 0004 (audit.adapters.ledger as it was), for the baseline."""
    head = await conn.fetchrow("select position, hash from ledger_head for update")
    position, prev_hash = head["position"], head["hash"]
    rows = []
    for envelope, record in events:
        headers = {k: v.decode("utf-8", "replace") for k, v in record.headers or ()}
        data_text = envelope.data.decode("utf-8")
        canonical = json.dumps({"event_id": str(envelope.id), "topic": record.topic, "partition": record.partition, "offset": record.offset,
                                "headers": headers, "data": data_text}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        new_hash = hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()
        position += 1
        rows.append((position, envelope.id, envelope.type, envelope.source, envelope.subject, envelope.time, record.topic,
                     record.partition, record.offset, headers, data_text, prev_hash, new_hash))
        prev_hash = new_hash
    await conn.executemany(
        """insert into ledger (position, event_id, event_type, source, subject, event_time, topic,
                               kafka_partition, kafka_offset, headers, data_text, prev_hash, hash)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""", rows)
    await conn.execute("update ledger_head set position = $1, hash = $2", position, prev_hash)
    return position


async def _append_all(conn, batches, append) -> float:
    started = time.perf_counter()
    for batch in batches:
        async with conn.transaction():
            await append(conn, batch)
    return time.perf_counter() - started


async def append_and_proof_rows(quick: bool) -> list[Row]:
    import httpx

    from audit.adapters import ledger
    from audit.domain.checkpoint import Signer
    from sangsaeng_common.db import connect
    from sangsaeng_devstack.broker import Broker
    from sangsaeng_devstack.postgres import Postgres
    from sangsaeng_devstack.processes import ServiceProcess
    from sangsaeng_devstack.provision import provision
    from _stack import AUDITOR_TOKEN, AUTH_ENV, LOG_DIR, free_port

    n = 20_000 if quick else 100_000
    events = [_record(i) for i in range(n)]
    batches = [events[i:i + 500] for i in range(0, n, 500)]
    with Broker() as broker, Postgres() as postgres, tempfile.TemporaryDirectory(prefix="ledger-key-") as tmp:
        database = (await provision(postgres.admin_url, "bench", ["audit"]))["audit"]
        migrated = subprocess.run([sys.executable, "-m", "audit", "migrate"], env={**os.environ, "SERVICE_NAME": "audit", **database.env()},
                                  capture_output=True, text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stderr
        admin = await connect(postgres.url("bench"), "public", "bench-old-chain")
        try:
            await admin.execute("create schema old_chain; set search_path to old_chain")
            await admin.execute(OLD_SCHEMA)
            old_s = await _append_all(admin, batches, old_chain_append)
        finally:
            await admin.close()
        conn = await connect(database.url, "audit", "bench-append")
        try:
            new_s = await _append_all(conn, batches, ledger.append)
            assert await conn.fetchval("select position from ledger_head") == n
        finally:
            await conn.close()
        new_us, old_us = new_s / n * 1e6, old_s / n * 1e6
        rows = [Row(f"ledger append: entry bytes + Merkle tree nodes, batches of 500 ({n:,} events)", f"{new_us:,.0f} µs/event",
                    f"{old_us:,.0f} µs/event (the hash chain it replaced)", new_us / old_us, "O(log n), same order as the chain",
                    new_us <= 3 * old_us, f"{new_s:.1f} s vs {old_s:.1f} s")]

        key = Path(tmp) / "signing.key"
        key.write_text(Signer.generate(ORIGIN).private_key_text())
        port = free_port()
        env = {"SERVICE_NAME": "audit", **database.env(), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "HTTP_PORT": str(port),
               **AUTH_ENV, "LOG_LEVEL": "WARNING", "AUDIT_SIGNING_KEY_FILE": str(key)}
        process = ServiceProcess("audit", "api", env=env, log_dir=LOG_DIR, name="audit-proofs", ready_url=f"http://127.0.0.1:{port}/ready").start()
        try:
            await process.wait_ready(timeout=90)
            base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {AUDITOR_TOKEN}"}
            rng = random.Random(7)
            async with httpx.AsyncClient(timeout=30) as client:
                assert (await client.post(f"{base}/checkpoints", headers=headers)).status_code == 200  # an auditor may sign on demand
                proofs, health = [], []
                for _ in range(50):  # warm up
                    await client.get(f"{base}/proofs/inclusion", params={"event_id": str(rng.choice(events)[0].id)}, headers=headers)
                for _ in range(300 if quick else 1000):
                    event_id = str(rng.choice(events)[0].id)
                    started = time.perf_counter()
                    answer = await client.get(f"{base}/proofs/inclusion", params={"event_id": event_id}, headers=headers)
                    proofs.append(time.perf_counter() - started)
                    assert answer.status_code == 200 and answer.json()["tree_size"] == n, answer.text
                    started = time.perf_counter()
                    await client.get(f"{base}/health")
                    health.append(time.perf_counter() - started)
        finally:
            process.request_stop()
            process.terminate()
        p99 = statistics.quantiles(proofs, n=100)[98] * 1000
        p50 = statistics.median(proofs) * 1000
        health_p99 = statistics.quantiles(health, n=100)[98] * 1000
        rows.append(Row(f"inclusion proof: GET /proofs/inclusion in a tree of {n:,} ({len(proofs):,} sequential requests)",
                        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", f"p99 {health_p99:.1f} ms (GET /health)", None, "p99 < 50 ms",
                        p99 < 50, "three indexed reads and one read of ~2·log2(n) stored nodes"))
        return rows


async def measure(quick: bool) -> list[Row]:
    rows = await append_and_proof_rows(quick)
    return [await asyncio.to_thread(verifier_row, quick), *rows]


if __name__ == "__main__":
    from _standalone import main

    main(measure)
