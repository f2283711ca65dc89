#!/usr/bin/env python3
"""An outside auditor's verifier for the Sangsaeng audit ledger (contracts/ledger.md, format 1).

It imports nothing from Sangsaeng: the Python standard library, and `cryptography` for Ed25519.
Copy it, read it, run it:

    python auditor_verify.py --key '<verifier key>' export DIR
        recompute every leaf (and, for a whole export, the root) from DIR/entries.jsonl, check
        both checkpoints' signatures, every inclusion proof (DIR/proofs.jsonl) and the
        consistency proof
    python auditor_verify.py --key '<verifier key>' checkpoints A.txt B.txt [--proof P.json]
        two signed checkpoints (yours and another auditor's, or a witness's): a fork if they
        name one size with different roots; of different sizes, connected by the consistency
        proof P.json (the answer of GET /proofs/consistency, or an export's manifest)

Exit status: 0 everything verified, 1 something did not (each problem printed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hashlib
import itertools
import json
import os
import sys
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EXPORT_FORMAT = "sangsaeng-ledger-export/1"
ENTRY_MEMBERS = {"topic", "partition", "offset", "key", "headers", "value"}

# ---------------------------------------------------------------- RFC 9162 §2.1


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class TreeBuilder:
    """The root of the tree over leaves appended in order, in O(log n) memory."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[bytes] = []  # the complete subtrees of the tree so far, largest first

    def append(self, leaf: bytes) -> None:
        self.stack.append(leaf)
        self.size += 1
        merges = self.size
        while merges & 1 == 0:  # each trailing zero bit of the size: two equal subtrees merge
            right, left = self.stack.pop(), self.stack.pop()
            self.stack.append(node_hash(left, right))
            merges >>= 1

    def root(self) -> bytes:
        if not self.stack:
            return hashlib.sha256(b"").digest()
        current = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            current = node_hash(left, current)
        return current


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2 (equal sizes: equal roots and an empty proof)."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    if old_size & (old_size - 1) == 0:
        proof = [old_root, *proof]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


# ---------------------------------------------------------------- C2SP signed-note + tlog-checkpoint


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise ValueError("a verifier key is <name>+<8 hex digits>+<base64(0x01 || public key)>")
        raw = base64.b64decode(parts[2], validate=True)
        if len(raw) != 33 or raw[0] != 0x01:
            raise ValueError("only Ed25519 verifier keys (0x01 and a 32-byte key)")
        key_id = hashlib.sha256(parts[0].encode() + b"\n" + raw).digest()[:4]
        if key_id.hex() != parts[1].lower():
            raise ValueError("the verifier key's id does not match its name and key")
        return cls(parts[0], key_id, raw[1:])


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def open_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint in a signed note, if `key` signed it; ValueError saying why not."""
    body, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise ValueError("not a signed note (body, blank line, signature lines)")
    body += "\n"
    signed = False
    for line in signatures[:-1].split("\n"):
        dash, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        if dash != "\u2014" or not name or not encoded:
            raise ValueError(f"not a signature line: {line!r}")
        raw = base64.b64decode(encoded)
        if name == key.name and raw[:4] == key.key_id:
            try:
                Ed25519PublicKey.from_public_bytes(key.public_key).verify(raw[4:], body.encode())
            except InvalidSignature:
                raise ValueError(f"the signature by {name} does not verify") from None
            signed = True
    if not signed:
        raise ValueError("not signed by the trusted key")
    lines = body.split("\n")
    if len(lines) < 4 or not lines[1].isdigit():
        raise ValueError("not a checkpoint body (origin, size, root hash)")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise ValueError("a root hash is 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root)


# ---------------------------------------------------------------- entries


def canonical(obj: object) -> bytes:
    """RFC 8785 for the entry's shape (strings, integers, null, arrays, one object): sorted
    members, no white space, UTF-8, JSON's short escapes and \\u00xx for other controls."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


SUMMARY_HEADERS = ("ce_type", "ce_time", "ce_actor")  # ce_actor: the subject id of who caused the event


def read_entry(raw: bytes) -> dict:
    """The decoded entry: its topic and the headers the summary shows (ValueError if it is not
    a canonical entry). Decode the other headers, the key and the value yourself to read them."""
    obj = json.loads(raw)
    if not isinstance(obj, dict) or obj.keys() != ENTRY_MEMBERS:
        raise ValueError("not an entry object")
    if canonical(obj) != raw:
        raise ValueError("not in RFC 8785 canonical form")
    headers = {}
    for name, value in obj["headers"]:
        if name in SUMMARY_HEADERS and name not in headers and value is not None:
            headers[name] = base64.b64decode(value, validate=True).decode("utf-8", "replace")
    return {"topic": obj["topic"], "headers": headers}


def b64list(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v, validate=True) for v in values]


class Report:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.facts: list[str] = []

    def fail(self, problem: str) -> None:
        self.problems.append(problem)
        print(f"FAIL  {problem}")

    def ok(self, fact: str) -> None:
        self.facts.append(fact)
        print(f"ok    {fact}")

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0


CHUNK = 5000  # lines per worker task


@dataclass
class Chunk:
    """What a worker found in a run of export lines: each entry's line number, index and leaf
    hash in file order, the problems, and the summary's tallies."""

    numbers: list[int]
    indexes: list[int]
    leaves: list[bytes]
    problems: list[str]
    topics: Counter
    types: Counter
    actors: Counter = field(default_factory=Counter)  # entries per ce_actor ("-": none, recorded before events named one)
    first_time: str | None = None
    last_time: str | None = None


def _check_chunk(job: tuple[int, list[bytes], list[bytes] | None, int | None, bytes | None]) -> Chunk:
    """Check a run of export lines (in a worker process): entries.jsonl's lines, and for a
    period export proofs.jsonl's (a whole export's line n is entry n - 1)."""
    first_number, lines, proof_lines, size, root = job
    chunk = Chunk([], [], [], [], Counter(), Counter())
    times = []
    for offset, line in enumerate(lines):
        number, raw = first_number + offset, line.rstrip(b"\n")
        try:
            entry = read_entry(raw)
            proof = json.loads(proof_lines[offset]) if proof_lines is not None else None
            index = proof["index"] if proof is not None else number - 1
        except (ValueError, KeyError, TypeError, IndexError, binascii.Error) as exc:
            chunk.problems.append(f"line {number}: not an entry ({exc})")
            continue
        leaf = leaf_hash(raw)
        if proof is not None and size is not None and not verify_inclusion(index, size, leaf, b64list(proof.get("inclusion", [])), root):
            chunk.problems.append(f"line {number}: entry {index} is not in the signed tree of {size} (its inclusion proof fails)")
        chunk.numbers.append(number)
        chunk.indexes.append(index)
        chunk.leaves.append(leaf)
        chunk.topics[entry["topic"]] += 1
        chunk.types[entry["headers"].get("ce_type") or "?"] += 1
        chunk.actors[entry["headers"].get("ce_actor") or "-"] += 1
        if ce_time := entry["headers"].get("ce_time"):
            times.append(ce_time)
    if times:
        chunk.first_time, chunk.last_time = min(times), max(times)
    return chunk


def checked_lines(directory: Path, size: int | None, root: bytes | None, whole: bool, jobs: int) -> Iterator[Chunk]:
    """Every line of entries.jsonl checked, in file order; decoding and hashing spread over
    `jobs` processes (the tree itself is built in order by the caller)."""
    def chunks() -> Iterator[tuple[int, list[bytes], list[bytes] | None, int | None, bytes | None]]:
        with contextlib.ExitStack() as files:
            lines = files.enter_context((directory / "entries.jsonl").open("rb"))
            proofs = None if whole else files.enter_context((directory / "proofs.jsonl").open("rb"))
            number = 1
            while batch := list(itertools.islice(lines, CHUNK)):
                yield number, batch, None if proofs is None else list(itertools.islice(proofs, len(batch))), size, root
                number += len(batch)

    if jobs <= 1:
        for job in chunks():
            yield _check_chunk(job)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: deque = deque()
        for job in chunks():
            pending.append(pool.submit(_check_chunk, job))
            if len(pending) > 2 * jobs:  # bounded: the file is never all in memory
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def verify_export(directory: Path, key: VerifierKey, origin: str | None, report: Report, jobs: int = 1) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    if manifest.get("format") != EXPORT_FORMAT:
        report.fail(f"unknown export format {manifest.get('format')!r}")
        return
    checkpoints: dict[str, Checkpoint] = {}
    for which in ("checkpoint", "latest_checkpoint"):
        try:
            checkpoints[which] = open_checkpoint(manifest[which], key)
        except (ValueError, binascii.Error) as exc:
            report.fail(f"{which}: {exc}")
            continue
        expected = origin or key.name
        if checkpoints[which].origin != expected:
            report.fail(f"{which}: names origin {checkpoints[which].origin!r}, expected {expected!r}")
        else:
            report.ok(f"{which}: signed by {key.name}+{key.key_id.hex()}, tree of {checkpoints[which].size} entries")
    covering = checkpoints.get("checkpoint")
    whole = bool(manifest.get("whole"))

    tree, count, previous, types, topics, actors = TreeBuilder(), 0, -1, Counter(), Counter(), Counter()
    first_time = last_time = None
    size, root = (covering.size, covering.root) if covering is not None else (None, None)
    for chunk in checked_lines(directory, size, root, whole, jobs):
        for problem in chunk.problems:
            report.fail(problem)
        for number, index, leaf in zip(chunk.numbers, chunk.indexes, chunk.leaves):
            count += 1
            if index <= previous:
                report.fail(f"line {number}: index {index} after {previous}: entries out of order or repeated")
            if whole and index != count - 1:
                report.fail(f"line {number}: index {index}, expected {count - 1} (an entry is missing or inserted)")
            previous = index
            if whole:
                tree.append(leaf)
        topics.update(chunk.topics)
        types.update(chunk.types)
        actors.update(chunk.actors)
        if chunk.first_time:
            first_time = min(first_time or chunk.first_time, chunk.first_time)
            last_time = max(last_time or chunk.last_time, chunk.last_time)
    if count != manifest.get("entries"):
        report.fail(f"the manifest says {manifest.get('entries')} entries, the file has {count}")
    if covering is not None:
        if whole:
            if tree.size != covering.size:
                report.fail(f"a whole export of a tree of {covering.size} entries has {tree.size}")
            elif tree.root() != covering.root:
                report.fail(f"the root of the {tree.size} entries is not the signed root (an entry was changed, removed, inserted or moved)")
            else:
                report.ok(f"the root of all {tree.size} entries is the signed root {base64.b64encode(covering.root).decode()}")
        elif not any(p.startswith("line ") for p in report.problems):
            report.ok(f"each of the {count} entries is in the signed tree of {covering.size} (inclusion proofs)")
    latest = checkpoints.get("latest_checkpoint")
    if covering is not None and latest is not None:
        proof = manifest.get("consistency", {})
        if (proof.get("from"), proof.get("to")) != (covering.size, latest.size):
            report.fail(f"the consistency proof runs {proof.get('from')} -> {proof.get('to')}, not {covering.size} -> {latest.size}")
        elif not verify_consistency(covering.size, latest.size, covering.root, latest.root, b64list(proof.get("proof", []))):
            report.fail(f"the consistency proof does not connect the tree of {covering.size} to the latest of {latest.size}")
        else:
            report.ok(f"the tree of {covering.size} is a prefix of the latest tree of {latest.size} (consistency proof)")
    print(f"found {count} entries ({'every entry of the tree' if whole else 'a selection, period ' + str(manifest.get('period'))}), "
          f"ce_time {first_time} .. {last_time}")
    for name, n in sorted(topics.items()):
        print(f"      {n:>9}  {name}")
    for name, n in types.most_common(12):
        print(f"      {n:>9}  {name}")
    named = sum(n for name, n in actors.items() if name != "-")
    print(f"actors (ce_actor): {len(actors) - ('-' in actors)} subjects caused {named} entries; {actors.get('-', 0)} name none")
    for name, n in actors.most_common(12):
        if name != "-":
            print(f"      {n:>9}  {name}")


def verify_checkpoints(a_file: Path, b_file: Path, key: VerifierKey, proof_file: Path | None, report: Report) -> None:
    found = []
    for path in (a_file, b_file):
        text = path.read_text()
        if text.lstrip().startswith("{"):  # an API answer (GET /checkpoint) rather than the bare note
            text = json.loads(text)["note"]
        try:
            checkpoint = open_checkpoint(text, key)
        except (ValueError, binascii.Error) as exc:
            report.fail(f"{path}: {exc}")
            continue
        report.ok(f"{path}: signed by {key.name}, tree of {checkpoint.size} entries")
        found.append(checkpoint)
    if len(found) != 2:
        return
    old, new = sorted(found, key=lambda c: c.size)
    if old.origin != new.origin:
        report.fail(f"two origins: {old.origin} and {new.origin}")
    elif old.size == new.size:
        if old.root != new.root:
            report.fail(f"FORK: two signed trees of {old.size} entries with different roots")
        else:
            report.ok(f"the same tree of {old.size} entries")
    elif proof_file is None:
        report.fail(f"sizes {old.size} and {new.size} differ: give --proof (GET /proofs/consistency?from={old.size}&to={new.size})")
    else:
        answer = json.loads(proof_file.read_text())
        answer = answer.get("consistency", answer)
        if (answer.get("from"), answer.get("to")) != (old.size, new.size):
            report.fail(f"the proof runs {answer.get('from')} -> {answer.get('to')}, not {old.size} -> {new.size}")
        elif not verify_consistency(old.size, new.size, old.root, new.root, b64list(answer.get("proof", []))):
            report.fail(f"the consistency proof does not connect {old.size} to {new.size}: the histories differ (a fork)")
        else:
            report.ok(f"the tree of {old.size} is a prefix of the tree of {new.size}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--key", required=True, help="the center's verifier key, obtained out of band: <name>+<id>+<base64>")
    parser.add_argument("--origin", help="the log's expected origin (default: the key's name)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes decoding and hashing entries (default: one per core)")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="verify an export directory (manifest.json, entries.jsonl)")
    export.add_argument("directory", type=Path)
    pair = commands.add_parser("checkpoints", help="compare two signed checkpoints (fork or consistency)")
    pair.add_argument("a", type=Path)
    pair.add_argument("b", type=Path)
    pair.add_argument("--proof", type=Path, help="a consistency proof between them (JSON)")
    args = parser.parse_args(argv)
    try:
        key = VerifierKey.parse(args.key)
    except (ValueError, binascii.Error) as exc:
        parser.error(f"--key: {exc}")
    report = Report()
    if args.command == "export":
        verify_export(args.directory, key, args.origin, report, jobs=max(1, args.jobs))
    else:
        verify_checkpoints(args.a, args.b, key, args.proof, report)
    print("VERIFIED" if not report.problems else f"NOT VERIFIED: {len(report.problems)} problem(s)")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
