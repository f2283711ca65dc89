"""The RFC 9162 §2.1 Merkle tree over the ledger's entries, kept incrementally.

    leaf hash  = SHA-256(0x00 || entry bytes)        (entry bytes: audit.domain.entry)
    node hash  = SHA-256(0x01 || left || right)
    MTH({})    = SHA-256("")

over the entries in ledger order, index from 0. A *node* here is the hash of a complete,
aligned subtree: (level, index) covers entries [index * 2^level, (index + 1) * 2^level).
Every node is stored once, when its last entry is appended (`Frontier.append`), and never
changes; any other subtree (the ragged right edge of a tree of size n) is computed from at
most log2(n) stored nodes (`subtree_hash`). Proofs (§2.1.3, §2.1.4) are built from a
`NodeLookup` and verified by the RFC's own algorithms. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

NodeLookup = Callable[[int, int], bytes]  # (level, index) -> the stored node's hash
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def frontier_keys(size: int) -> list[tuple[int, int]]:
    """The nodes a tree of `size` is made of (its complete subtrees, largest first)."""
    return [(level, (size >> level) - 1) for level in reversed(range(size.bit_length())) if size >> level & 1]


@dataclass
class Frontier:
    """The right edge of the tree: for each set bit k of `size`, the hash of the complete
    subtree of 2^k entries that the tree's decomposition holds there. Appending a leaf is
    O(log n) and yields the nodes it completes (the leaf itself first)."""

    size: int = 0
    levels: dict[int, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, size: int, node: NodeLookup) -> Frontier:
        return cls(size, {level: node(level, index) for level, index in frontier_keys(size)})

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index, level, current = self.size, 0, leaf
        completed = [(0, index, leaf)]
        while index >> level & 1:  # the new subtree at this level is a right child: merge with its left sibling
            current = node_hash(self.levels.pop(level), current)
            level += 1
            completed.append((level, index >> level, current))
        self.levels[level] = current
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.levels:
            return EMPTY_ROOT
        levels = sorted(self.levels)
        current = self.levels[levels[0]]
        for level in levels[1:]:
            current = node_hash(self.levels[level], current)
        return current


def root_of(leaves: Iterable[bytes]) -> bytes:
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def subtree_hash(start: int, end: int, node: NodeLookup) -> bytes:
    """MTH(D[start:end]) from stored nodes, where D[start:end] is a subtree the RFC's
    recursion reaches (start aligned to the largest power of two below end - start)."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return node(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(subtree_hash(start, start + k, node), subtree_hash(start + k, end, node))


def tree_root(size: int, node: NodeLookup) -> bytes:
    return subtree_hash(0, size, node)


def inclusion_proof(index: int, size: int, node: NodeLookup) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")

    def path(m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return path(m, start, start + k) + [subtree_hash(start + k, end, node)]
        return path(m - k, start + k, end) + [subtree_hash(start, start + k, node)]

    return path(index, 0, size)


def consistency_proof(old_size: int, new_size: int, node: NodeLookup) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1 (empty when the sizes are equal or old is 0)."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []

    def subproof(m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [subtree_hash(start, end, node)]
        k = _split(n)
        if m <= k:
            return subproof(m, start, start + k, whole) + [subtree_hash(start + k, end, node)]
        return subproof(m - k, start + k, end, False) + [subtree_hash(start, start + k, node)]

    return subproof(old_size, 0, new_size, True)


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
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
    """RFC 9162 §2.1.4.2 (sizes equal: the roots must be, and the proof empty)."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
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


def nodes_needed(build: Callable[[NodeLookup], object]) -> set[tuple[int, int]]:
    """Which stored nodes `build` reads (it is run once against a recorder): lets a caller
    fetch them in one query and then run `build` for real."""
    wanted: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return b"\x00" * 32

    build(record)
    return wanted
