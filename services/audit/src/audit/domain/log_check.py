"""Checking the stored log against itself, in one pass: every entry's bytes parse and agree
with the columns the ledger derived from them, every recomputed leaf equals the stored one,
positions are gapless, and the tree recomputed from the entries has, at each signed
checkpoint's size, the root that checkpoint signed. Pure: the service layer feeds it rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from audit.domain.entry import Entry
from audit.domain.merkle import Frontier, leaf_hash


@dataclass(frozen=True)
class EntryRow:
    """One ledger row as verify reads it: the entry's bytes, the columns derived from them, and
    the leaf hash stored in the tree (None if the tree has no leaf there)."""

    position: int
    event_id: str
    event_type: str
    subject: str
    topic: str
    partition: int
    offset: int
    data_text: str
    entry: bytes
    stored_leaf: bytes | None


@dataclass(frozen=True)
class Break:
    position: int
    event_id: str | None
    reason: str


def _disagreement(row: EntryRow, entry: Entry) -> str | None:
    expected = {
        "topic": (row.topic, entry.topic), "partition": (row.partition, entry.partition), "offset": (row.offset, entry.offset),
        "event_id": (row.event_id, entry.header("ce_id")), "event_type": (row.event_type, entry.header("ce_type")),
        "subject": (row.subject, entry.header("ce_subject")),
    }
    for name, (column, in_entry) in expected.items():
        if column != in_entry:
            return f"the row's {name} is not the entry's"
    if row.data_text.encode() != entry.value:
        return "the row's data is not the entry's value"
    return None


@dataclass
class LogWalker:
    """Feed rows in position order (`check`); `roots` holds the recomputed root at every size asked for."""

    sizes_wanted: set[int] = field(default_factory=set)
    tree: Frontier = field(default_factory=Frontier)
    roots: dict[int, bytes] = field(default_factory=dict)
    # Interior nodes the entries made since the last `take_nodes`, to compare with the stored ones.
    pending: list[tuple[int, int, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if 0 in self.sizes_wanted:
            self.roots[0] = self.tree.root()

    @property
    def checked(self) -> int:
        return self.tree.size

    def check(self, row: EntryRow) -> Break | None:
        if row.position != self.tree.size + 1:
            return Break(self.tree.size + 1, None, f"position {self.tree.size + 1} is missing (found {row.position})")
        try:
            entry = Entry.from_bytes(row.entry)
        except ValueError as exc:
            return Break(row.position, row.event_id, str(exc))
        if (reason := _disagreement(row, entry)) is not None:
            return Break(row.position, row.event_id, reason)
        leaf = leaf_hash(row.entry)
        if row.stored_leaf != leaf:
            return Break(row.position, row.event_id, "the entry does not match its leaf in the tree" if row.stored_leaf else "the tree has no leaf for it")
        self.pending += self.tree.append(leaf)[1:]
        if self.tree.size in self.sizes_wanted:
            self.roots[self.tree.size] = self.tree.root()
        return None

    def take_nodes(self) -> list[tuple[int, int, bytes]]:
        taken, self.pending = self.pending, []
        return taken


def first_node_apart(made: list[tuple[int, int, bytes]], stored: dict[tuple[int, int], bytes]) -> Break | None:
    """The first interior node the entries made that the stored tree does not hold as made."""
    for level, index, digest in made:
        if stored.get((level, index)) != digest:
            return Break((index + 1) << level, None, f"the stored tree's node ({level}, {index}) is not the one its entries make")
    return None
