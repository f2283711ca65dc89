"""The RFC 9162 tree: the incremental frontier makes the same roots as the RFC's recursive
definition, inclusion and consistency proofs from stored nodes verify for every size and
index, and fail for any flipped bit, any other index, size or root."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.domain.merkle import (
    EMPTY_ROOT, Frontier, consistency_proof, frontier_keys, inclusion_proof, leaf_hash, node_hash, nodes_needed, tree_root,
    verify_consistency, verify_inclusion,
)

MAX = 300


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH of RFC 9162 §2.1.1, straight from its definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def build(n: int) -> tuple[list[bytes], dict[tuple[int, int], bytes], list[bytes]]:
    """n leaves, the nodes their appends stored, and the root after each append (roots[s] = root of size s)."""
    leaves = [leaf_hash(f"entry {i}".encode()) for i in range(n)]
    frontier, stored, roots = Frontier(), {}, [EMPTY_ROOT]
    for leaf in leaves:
        for level, index, digest in frontier.append(leaf):
            assert (level, index) not in stored  # each node stored once, never changed
            stored[(level, index)] = digest
        roots.append(frontier.root())
    return leaves, stored, roots


LEAVES, NODES, ROOTS = build(MAX)


def node(level: int, index: int) -> bytes:
    return NODES[(level, index)]


def flip(raw: bytes, bit: int) -> bytes:
    bit %= len(raw) * 8
    return raw[: bit // 8] + bytes([raw[bit // 8] ^ (1 << bit % 8)]) + raw[bit // 8 + 1:]


def test_leaf_and_node_hashes_are_domain_separated():
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_every_size_has_the_rfc_root_from_frontier_and_from_stored_nodes():
    for size in range(MAX + 1):
        expected = reference_root(LEAVES[:size])
        assert ROOTS[size] == expected
        assert tree_root(size, node) == expected
        assert Frontier.of(size, node).root() == expected


def test_an_append_stores_olog_n_nodes_and_reads_only_the_frontier():
    frontier = Frontier.of(MAX, node)
    assert len(frontier.levels) == bin(MAX).count("1") == len(frontier_keys(MAX))
    assert all(len(Frontier.of(s, node).append(b"\x00" * 32)) <= s.bit_length() + 1 for s in range(1, MAX))
    assert len(NODES) < 2 * MAX
    assert len(nodes_needed(lambda n: inclusion_proof(MAX // 3, MAX, n))) <= 2 * MAX.bit_length()


def test_every_inclusion_proof_verifies_up_to_a_few_hundred():
    for size in range(1, MAX + 1):
        for index in range(size):
            proof = inclusion_proof(index, size, node)
            assert verify_inclusion(index, size, LEAVES[index], proof, ROOTS[size]), (index, size)


def test_every_consistency_proof_verifies_up_to_a_few_hundred():
    for new in range(0, MAX + 1, 7):
        for old in range(new + 1):
            proof = consistency_proof(old, new, node)
            assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof), (old, new)
    for new in range(1, MAX + 1):  # and every pair near the edge
        for old in (1, new // 2, new - 1, new):
            if 0 < old <= new:
                assert verify_consistency(old, new, ROOTS[old], ROOTS[new], consistency_proof(old, new, node))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_an_inclusion_proof_fails_for_any_flipped_bit(data):
    size = data.draw(st.integers(1, MAX))
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, node)
    leaf, root = LEAVES[index], ROOTS[size]
    bit = data.draw(st.integers(0, 10**6))
    assert not verify_inclusion(index, size, flip(leaf, bit), proof, root)
    assert not verify_inclusion(index, size, leaf, proof, flip(root, bit))
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        assert not verify_inclusion(index, size, leaf, proof[:at] + [flip(proof[at], bit)] + proof[at + 1:], root)
        assert not verify_inclusion(index, size, leaf, proof[:-1], root)  # a shortened path
    assert not verify_inclusion(index, size, leaf, proof + [root], root)  # a lengthened one
    other = data.draw(st.integers(0, size - 1))
    if LEAVES[other] != leaf:
        assert not verify_inclusion(index, size, LEAVES[other], proof, root)
    assert not verify_inclusion(size, size, leaf, proof, root)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_consistency_proof_fails_for_any_flipped_bit(data):
    new = data.draw(st.integers(2, MAX))
    old = data.draw(st.integers(1, new - 1))
    proof = consistency_proof(old, new, node)
    bit = data.draw(st.integers(0, 10**6))
    at = data.draw(st.integers(0, len(proof) - 1))
    assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], proof[:at] + [flip(proof[at], bit)] + proof[at + 1:])
    assert not verify_consistency(old, new, flip(ROOTS[old], bit), ROOTS[new], proof)
    assert not verify_consistency(old, new, ROOTS[old], flip(ROOTS[new], bit), proof)
    assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], proof[:-1])
    other = data.draw(st.integers(1, new))
    if ROOTS[other] != ROOTS[old]:
        assert not verify_consistency(old, new, ROOTS[other], ROOTS[new], proof)  # a fork: another tree of that size


def test_proofs_refuse_impossible_sizes():
    assert not verify_inclusion(0, 0, LEAVES[0], [], EMPTY_ROOT)
    assert verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    assert not verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])
    assert not verify_consistency(6, 5, ROOTS[6], ROOTS[5], [])
    assert not verify_consistency(3, 5, ROOTS[3], ROOTS[5], [])
