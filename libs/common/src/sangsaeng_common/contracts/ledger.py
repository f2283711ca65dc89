"""The audit ledger's signed checkpoints, published so that outside witnesses keep copies.

`CheckpointSigned` goes to `sangsaeng.audit.checkpoints` only (never to an events topic, so
the ledger does not record its own checkpoints): the C2SP signed note exactly as signed, and
its tree size and root for readers that do not parse notes. The format: contracts/ledger.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sangsaeng_common.contracts import Event, contract
from sangsaeng_common.contracts.common import Generated, Ident

CHECKPOINTS_TOPIC = "sangsaeng.audit.checkpoints"


@contract("audit", "CheckpointSigned", 1)
class CheckpointSigned(Event):
    """The audit ledger signed a checkpoint of its Merkle tree: a witness keeps `note` and
    checks that no two notes of one origin name the same size with different roots."""

    key_description: ClassVar[str] = "the log's origin (e.g. sangsaeng.dongdaemun.go.kr/ledger)"

    origin: Ident  # the log's name, from configuration
    tree_size: int
    root_hash: Generated  # base64, as in the note
    note: Generated  # the C2SP signed note (tlog-checkpoint body and its Ed25519 signature line), byte for byte
    key_id: Ident  # hex, the signing key's id
    signed_at: datetime

    @classmethod
    def topic(cls) -> str:
        return CHECKPOINTS_TOPIC

    def subject(self) -> str:
        return self.origin
