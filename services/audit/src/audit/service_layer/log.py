"""The transparency log's use cases: sign a checkpoint, serve checkpoints, proofs and entry
bytes, check the stored log against itself and its signed checkpoints, build an export that
an outside auditor verifies with no code of ours (integrations/auditor-verify). Raises only
sangsaeng_common.errors; every SQL statement is in the adapters."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from audit.adapters import ledger, queries
from audit.adapters.queries import StoredCheckpoint
from audit.domain.checkpoint import BadNote, Checkpoint, Signer, Verifier, open_note
from audit.domain.log_check import Break, LogWalker, first_node_apart
from audit.domain.merkle import NodeLookup, consistency_proof, inclusion_proof, leaf_hash, nodes_needed, tree_root, verify_consistency
from sangsaeng_common import outbox
from sangsaeng_common.contracts.ledger import CheckpointSigned
from sangsaeng_common.errors import NotFound, NotYetKnown, invalid

MAX_ENTRIES_PER_REQUEST = 1000


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class LogKeys:
    """The log's origin, the key that signs its checkpoints (None: this process cannot sign),
    and every key whose checkpoints are trusted (the signer's own and earlier ones, rotated out)."""

    origin: str
    signer: Signer | None
    verifiers: list[Verifier] = field(default_factory=list)


async def _with_nodes(conn: asyncpg.Connection, build: Callable[[NodeLookup], Any]) -> Any:
    """Run `build` over stored nodes: find which it needs, fetch them in one query, run it."""
    found = await ledger.nodes(conn, nodes_needed(build))

    def lookup(level: int, index: int) -> bytes:
        try:
            return found[(level, index)]
        except KeyError:
            raise NotYetKnown("The tree is not that large yet", f"no stored node ({level}, {index})") from None

    return build(lookup)


def checkpoint_view(stored: StoredCheckpoint) -> dict[str, Any]:
    return {"tree_size": stored.tree_size, "root_hash": b64(stored.root_hash), "note": stored.note, "key_id": stored.key_id,
            "signed_at": stored.signed_at.isoformat()}


async def make_checkpoint(conn: asyncpg.Connection, keys: LogKeys) -> StoredCheckpoint | None:
    """Sign the tree as it is now, store the note and publish it (outbox), in the caller's
    transaction; nothing new if the latest checkpoint already has this size. One signer at a
    time over all replicas (a transaction-scoped advisory lock): None if another holds it."""
    if keys.signer is None:
        raise NotYetKnown("No signing key", "this process has no signing key (AUDIT_SIGNING_KEY_FILE)", retry_after_s=60)
    if not await ledger.try_lock_checkpointing(conn):
        return None
    size = await queries.head_position(conn)
    latest = await queries.latest_checkpoint(conn)
    if latest is not None and latest.tree_size >= size:
        return latest
    checkpoint = Checkpoint(keys.origin, size, await _with_nodes(conn, lambda node: tree_root(size, node)))
    note = keys.signer.sign(checkpoint)
    await ledger.add_checkpoint(conn, checkpoint, note, keys.signer.key_id.hex())
    stored = await queries.latest_checkpoint(conn)
    await outbox.add(conn, CheckpointSigned(origin=checkpoint.origin, tree_size=size, root_hash=b64(checkpoint.root), note=note,
                                            key_id=stored.key_id, signed_at=stored.signed_at))
    return stored


async def latest(conn: asyncpg.Connection) -> dict[str, Any]:
    stored = await queries.latest_checkpoint(conn)
    if stored is None:
        raise NotYetKnown("No checkpoint yet", "the log has not been checkpointed yet", retry_after_s=10)
    return checkpoint_view(stored)


async def of_size(conn: asyncpg.Connection, size: int) -> list[dict[str, Any]]:
    if size < 0:
        raise invalid("size", "a tree size is 0 or more")
    found = await queries.checkpoints_of_size(conn, size)
    if not found:
        raise NotFound("No checkpoint of that size", f"no checkpoint signed a tree of size {size}")
    return [checkpoint_view(c) for c in found]


async def _size_or_latest(conn: asyncpg.Connection, size: int | None, field_name: str = "size") -> int:
    head = await queries.head_position(conn)
    if size is None:
        stored = await queries.latest_checkpoint(conn)
        return stored.tree_size if stored else head
    if not 0 <= size <= head:
        raise invalid(field_name, f"the tree has {head} entries: a size is 0..{head}")
    return size


async def inclusion(conn: asyncpg.Connection, event_id: str, size: int | None) -> dict[str, Any]:
    index = await queries.entry_index(conn, event_id)
    if index is None:
        raise NotFound("No such event in the ledger", f"the ledger has no event {event_id}")
    tree_size = await _size_or_latest(conn, size)
    if index >= tree_size:
        raise invalid("size", f"event {event_id} is entry {index}: a tree of size {tree_size} does not hold it yet")
    (_, entry), = await queries.entries(conn, index, index + 1)
    path = await _with_nodes(conn, lambda node: inclusion_proof(index, tree_size, node))
    signed = await queries.checkpoints_of_size(conn, tree_size)
    return {"event_id": event_id, "index": index, "tree_size": tree_size, "leaf_hash": b64(leaf_hash(entry)),
            "audit_path": [b64(p) for p in path], "checkpoint": checkpoint_view(signed[-1]) if signed else None}


async def consistency(conn: asyncpg.Connection, old: int, new: int | None) -> dict[str, Any]:
    new_size = await _size_or_latest(conn, new, "to")
    if not 0 <= old <= new_size:
        raise invalid("from", f"a consistency proof runs from a size 0..{new_size} to {new_size}")
    proof = await _with_nodes(conn, lambda node: consistency_proof(old, new_size, node))
    signed_old, signed_new = await queries.checkpoints_of_size(conn, old), await queries.checkpoints_of_size(conn, new_size)
    return {"from": old, "to": new_size, "proof": [b64(p) for p in proof],
            "checkpoints": {"from": checkpoint_view(signed_old[-1]) if signed_old else None,
                            "to": checkpoint_view(signed_new[-1]) if signed_new else None}}


async def entries(conn: asyncpg.Connection, start: int, end: int | None) -> dict[str, Any]:
    head = await queries.head_position(conn)
    end = min(head, start + MAX_ENTRIES_PER_REQUEST) if end is None else end
    if not 0 <= start <= head:
        raise invalid("start", f"the tree has {head} entries: start is 0..{head}")
    if not start <= end <= head:
        raise invalid("end", f"end is {start}..{head} (exclusive)")
    if end - start > MAX_ENTRIES_PER_REQUEST:
        raise invalid("end", f"at most {MAX_ENTRIES_PER_REQUEST} entries per request")
    return {"start": start, "end": end, "entries": [{"index": i, "entry": b64(raw)} for i, raw in await queries.entries(conn, start, end)]}


async def check_log(conn: asyncpg.Connection, keys: LogKeys) -> dict[str, Any]:
    """Recompute every leaf and the tree from the entries' bytes; check them against the stored
    tree, and every stored checkpoint's signature and root; look for forks and for stored
    nodes that do not connect consecutive checkpoints."""
    checkpoints = await queries.all_checkpoints(conn)
    head = await queries.head_position(conn)
    walker = LogWalker({c.tree_size for c in checkpoints} | {head})
    broken: Break | None = None

    async def nodes_apart() -> Break | None:
        made = walker.take_nodes()
        return first_node_apart(made, await ledger.nodes(conn, [(level, index) for level, index, _ in made]))

    async for row in queries.stored_entries(conn):
        if (broken := walker.check(row)) is not None:
            break
        if len(walker.pending) >= 5000 and (broken := await nodes_apart()) is not None:
            break
    if broken is None:
        broken = await nodes_apart()
    if broken is None and head != walker.checked:
        broken = Break(min(head, walker.checked) + 1, None, f"the head says {head} entries, found {walker.checked}")
    try:
        if broken is None and await _with_nodes(conn, lambda node: tree_root(head, node)) != walker.tree.root():
            broken = Break(head, None, "the stored tree's root is not the root of the entries")
    except NotYetKnown as missing:  # a stored node gone: the tree no longer holds what its entries make
        broken = Break(head, None, f"the stored tree is incomplete: {missing.detail}")

    findings: list[dict[str, Any]] = []
    signed: list[tuple[StoredCheckpoint, Checkpoint]] = []
    for stored in checkpoints:
        def finding(problem: str, stored: StoredCheckpoint = stored) -> None:
            findings.append({"checkpoint_id": stored.id, "tree_size": stored.tree_size, "problem": problem})
        try:
            checkpoint, _ = open_note(stored.note, keys.verifiers)
        except BadNote as exc:
            finding(f"signature: {exc}")
            continue
        if checkpoint.origin != keys.origin:
            finding(f"the note names origin {checkpoint.origin}, not {keys.origin}")
        elif (checkpoint.size, checkpoint.root) != (stored.tree_size, stored.root_hash):
            finding("the stored size and root are not the note's")
        elif checkpoint.size > walker.checked:
            finding(f"it signed a tree of {checkpoint.size} entries, the log has {walker.checked} intact")
        elif walker.roots.get(checkpoint.size) != checkpoint.root:
            finding("the entries do not make the root it signed")
        signed.append((stored, checkpoint))  # validly signed: compared for forks below, even if it disagrees

    roots_by_size: dict[int, set[bytes]] = defaultdict(set)
    for _, checkpoint in signed:
        roots_by_size[checkpoint.size].add(checkpoint.root)
    for size, roots in sorted(roots_by_size.items()):
        if len(roots) > 1:
            findings.append({"checkpoint_id": None, "tree_size": size, "problem": f"fork: {len(roots)} signed roots for one size"})

    # The stored nodes must connect consecutive signed trees (what /proofs/consistency serves).
    distinct = sorted({(c.size, c.root) for _, c in signed if len(roots_by_size[c.size]) == 1 and c.size <= walker.checked})
    pairs = list(zip(distinct, distinct[1:]))
    if broken is None and pairs:
        try:
            proofs = await _with_nodes(conn, lambda node: [consistency_proof(a[0], b[0], node) for a, b in pairs])
        except NotYetKnown as missing:
            findings.append({"checkpoint_id": None, "tree_size": head, "problem": f"the stored tree is incomplete: {missing.detail}"})
            proofs = []
        for (a, b), proof in zip(pairs, proofs):
            if not verify_consistency(a[0], b[0], a[1], b[1], proof):
                findings.append({"checkpoint_id": None, "tree_size": b[0], "problem": f"the stored tree does not prove {a[0]} consistent with {b[0]}"})

    latest_stored = checkpoints[-1] if checkpoints else None
    return {
        "entries_checked": walker.checked,
        "tree_size": head,
        "root_hash": b64(walker.tree.root()) if broken is None else None,
        "first_broken": asdict(broken) if broken else None,
        "checkpoints": {"checked": len(checkpoints), "latest": checkpoint_view(latest_stored) if latest_stored else None, "findings": findings},
    }


async def export_bundle(conn: asyncpg.Connection, indexes: list[int], whole: bool) -> dict[str, Any]:
    """What an export holds besides its entries: the checkpoint covering them (a whole export:
    the latest; a selection: the first signed tree that holds the last of them), the latest,
    and the consistency proof between the two. A selection's entries carry inclusion proofs
    (`inclusion_proofs`); a whole export claims every entry of its tree, so that the auditor
    recomputes the root, and a missing entry shows."""
    latest_stored = await queries.latest_checkpoint(conn)
    if latest_stored is None:
        raise NotYetKnown("No checkpoint yet", "the log has not been checkpointed yet", retry_after_s=10)
    covering = latest_stored if whole else await queries.first_checkpoint_covering(conn, (max(indexes) + 1) if indexes else 0)
    assert covering is not None  # the latest covers every entry up to its size
    proof = await _with_nodes(conn, lambda node: consistency_proof(covering.tree_size, latest_stored.tree_size, node))
    return {"covering": covering, "latest": latest_stored, "whole": whole, "consistency": [b64(p) for p in proof]}


async def inclusion_proofs(conn: asyncpg.Connection, indexes: list[int], size: int) -> list[list[str]]:
    paths = await _with_nodes(conn, lambda node: [inclusion_proof(i, size, node) for i in indexes])
    return [[b64(p) for p in path] for path in paths]
