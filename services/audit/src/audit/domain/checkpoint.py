"""Signed checkpoints: the C2SP tlog-checkpoint body signed as a C2SP signed-note (Ed25519).

    <origin>\\n<tree size>\\n<base64 root hash>\\n          the checkpoint body
    \\n
    — <key name> <base64(key id || signature)>\\n          one line per signature

key id = SHA-256(key name || 0x0A || 0x01 || public key)[:4]; the signature is Ed25519 over
the body's bytes. A verifier key is `<name>+<hex key id>+<base64(0x01 || public key)>`; the
signing key's file holds `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>` (the Go
checksum database's formats). Pure: no I/O (the key's file is read by the composition root).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
DASH = "\u2014"  # the em dash that starts a signature line


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def _valid_name(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise ValueError(f"a key name has no '+' and no white space: {name!r}")
    return name


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0] or not lines[1].isdigit() or (lines[1] != "0" and lines[1].startswith("0")):
            raise ValueError("not a checkpoint body: origin, size, root hash, each on its own line")
        root = base64.b64decode(lines[2], validate=True)
        if len(root) != 32:
            raise ValueError("a checkpoint's root hash is 32 bytes")
        return cls(lines[0], int(lines[1]), root)


@dataclass(frozen=True)
class Signer:
    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def verifier_key(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public_key).decode()}"

    def private_key_text(self) -> str:
        seed = self.private_key.private_bytes_raw()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + seed).decode()}"

    def sign(self, checkpoint: Checkpoint) -> str:
        """The signed note: the body, a blank line, this key's signature line."""
        body = checkpoint.body()
        signature = self.private_key.sign(body.encode())
        return f"{body}\n{DASH} {self.name} {base64.b64encode(self.key_id + signature).decode()}\n"

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(_valid_name(name), Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)  # the base64 key may itself hold a '+'
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise ValueError("a signing key is PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>")
        raw = base64.b64decode(parts[4], validate=True)
        if len(raw) != 33 or raw[0] != ED25519:
            raise ValueError("only Ed25519 signing keys (algorithm 0x01, a 32-byte seed)")
        signer = cls(_valid_name(parts[2]), Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_id.hex() != parts[3].lower():
            raise ValueError("the signing key's id does not match its key")
        return signer


@dataclass(frozen=True)
class Verifier:
    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise ValueError("a verifier key is <name>+<key id>+<base64(0x01 || public key)>")
        raw = base64.b64decode(parts[2], validate=True)
        if len(raw) != 33 or raw[0] != ED25519:
            raise ValueError("only Ed25519 verifier keys (algorithm 0x01, a 32-byte key)")
        verifier = cls(_valid_name(parts[0]), raw[1:])
        if verifier.key_id.hex() != parts[1].lower():
            raise ValueError("the verifier key's id does not match its key")
        return verifier

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public_key).decode()}"


class BadNote(ValueError):
    """A signed note that is malformed, or that no trusted key signed."""


def open_note(note: str, verifiers: list[Verifier]) -> tuple[Checkpoint, Verifier]:
    """The checkpoint a signed note holds, if one of `verifiers` signed it (BadNote otherwise)."""
    body, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise BadNote("a signed note is its body, a blank line and signature lines")
    body += "\n"
    for line in signatures[:-1].split("\n"):
        prefix, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        if prefix != DASH or not name or not encoded:
            raise BadNote(f"not a signature line: {line!r}")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise BadNote(f"a signature line's signature is not base64: {line!r}") from None
        for verifier in verifiers:
            if verifier.name == name and raw[:4] == verifier.key_id:
                try:
                    Ed25519PublicKey.from_public_bytes(verifier.public_key).verify(raw[4:], body.encode())
                except InvalidSignature:
                    raise BadNote(f"the signature by {name} does not verify") from None
                try:
                    return Checkpoint.parse(body), verifier
                except ValueError as exc:
                    raise BadNote(str(exc)) from None
    raise BadNote("no trusted key signed this note")
