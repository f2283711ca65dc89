"""An entry's bytes are RFC 8785 canonical JSON of the consumed record; a checkpoint is a C2SP
tlog-checkpoint body in a C2SP signed note that only the right key opens."""

from __future__ import annotations

import base64
import json

import pytest
import rfc8785

from audit.domain.checkpoint import BadNote, Checkpoint, Signer, Verifier, key_id, open_note
from audit.domain.entry import Entry

ENTRY = Entry("sangsaeng.intake.events", 3, 41, b"3b0a3f9e", (("ce_id", b"018f"), ("ce_type", b"t"), ("x", None), ("ce_id", b"dup")),
              '{"name": "바른분식", "n": 1.50}'.encode())


def test_an_entry_is_jcs_of_the_documented_object_and_keeps_every_byte():
    raw = ENTRY.to_bytes()
    obj = json.loads(raw)
    assert raw == rfc8785.dumps(obj)
    assert list(obj) == ["headers", "key", "offset", "partition", "topic", "value"]  # JCS orders the members
    assert obj["headers"] == [["ce_id", "MDE4Zg=="], ["ce_type", "dA=="], ["x", None], ["ce_id", "ZHVw"]]  # order and repeats kept
    assert base64.b64decode(obj["value"]) == ENTRY.value  # not re-encoded: "1.50" and the spacing survive
    assert Entry.from_bytes(raw) == ENTRY
    assert ENTRY.header("ce_id") == "018f"


def test_bytes_that_are_not_canonical_or_not_an_entry_are_refused():
    obj = json.loads(ENTRY.to_bytes())
    with pytest.raises(ValueError, match="canonical"):
        Entry.from_bytes(json.dumps(obj, indent=1).encode())
    with pytest.raises(ValueError):
        Entry.from_bytes(rfc8785.dumps({**obj, "extra": 1}))
    with pytest.raises(ValueError):
        Entry.from_bytes(b"not json")


def test_a_checkpoint_note_opens_with_its_key_only():
    signer = Signer.generate("sangsaeng.dongdaemun.go.kr/ledger")
    note = signer.sign(Checkpoint("sangsaeng.dongdaemun.go.kr/ledger", 7, b"\x01" * 32))
    body, signature = note.split("\n\n")
    assert body == "sangsaeng.dongdaemun.go.kr/ledger\n7\n" + base64.b64encode(b"\x01" * 32).decode()
    assert signature.startswith("\u2014 sangsaeng.dongdaemun.go.kr/ledger ") and signature.endswith("\n")
    verifier = Verifier.parse(signer.verifier_key())
    name, kid, key = signer.verifier_key().split("+", 2)
    assert kid == key_id(name, verifier.public_key).hex() and base64.b64decode(key)[0] == 1
    assert open_note(note, [verifier]) == (Checkpoint("sangsaeng.dongdaemun.go.kr/ledger", 7, b"\x01" * 32), verifier)
    other = Verifier.parse(Signer.generate("sangsaeng.dongdaemun.go.kr/ledger").verifier_key())
    with pytest.raises(BadNote, match="no trusted key"):
        open_note(note, [other])
    with pytest.raises(BadNote, match="does not verify"):
        open_note(note.replace("\n7\n", "\n8\n"), [verifier])
    assert Signer.parse(signer.private_key_text()).verifier_key() == signer.verifier_key()
    with pytest.raises(ValueError):
        Verifier.parse(signer.verifier_key().replace("+", "+0", 1))


def test_keys_whose_base64_holds_a_plus_parse():
    for _ in range(64):  # about half of all keys have a '+' in their base64
        signer = Signer.generate("sangsaeng.dongdaemun.go.kr/ledger")
        assert Signer.parse(signer.private_key_text()).verifier_key() == signer.verifier_key()
        assert str(Verifier.parse(signer.verifier_key())) == signer.verifier_key()
