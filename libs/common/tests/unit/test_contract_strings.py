"""No free text outlives an erasure: every string field of every contract is a code (an
enumeration or a declared vocabulary), an id, a date, a public name, text the system
composes, or declared free text that is handled: dropped by the upcaster of a superseded
version, or on an event that is about no business (which BusinessErased could not reach)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sangsaeng_common.contracts import REGISTRY, is_newest, upcast
from sangsaeng_common.contracts import publish
from sangsaeng_common.contracts.common import NOT_ABOUT_A_BUSINESS, SUPERSEDED

SAFE_KINDS = {"code", "id", "name", "generated"}
SENTINEL = "김철수씨-자유문장"


def string_fields(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, kind, node) of every string a document of `schema` can hold, at any depth."""
    found: list[tuple[str, str, dict[str, Any]]] = []

    def walk(node: dict[str, Any], path: str, depth: int = 0) -> None:
        node = publish._resolve(node, schema)
        if depth > 30:
            return
        for combinator in ("anyOf", "oneOf", "allOf"):
            for branch in node.get(combinator, []):
                walk(branch, path, depth + 1)
        if "enum" in node or "const" in node:
            if any(isinstance(v, str) for v in node.get("enum", [node.get("const")])):
                found.append((path, "enum", node))
            return
        kind = node.get("type")
        if kind == "object":
            for name, prop in node.get("properties", {}).items():
                walk(prop, f"{path}.{name}" if path else name, depth + 1)
        elif kind == "array":
            walk(node.get("items", {}), f"{path}[]", depth + 1)
        elif kind == "string":
            if node.get("format") in ("uuid", "date", "date-time"):
                found.append((path, node["format"], node))
            elif "pattern" in node:
                found.append((path, "pattern", node))
            else:
                found.append((path, node.get("x-string", "unclassified"), node))

    walk(schema, "")
    return found


CATALOGUE = {ce_type: string_fields(publish.event_schema(contract)) for ce_type, contract in sorted(REGISTRY.items())}


def test_the_catalogue_lists_its_string_fields():
    listing = "\n".join(f"{ce_type}: " + ", ".join(f"{path} ({kind})" for path, kind, _ in fields) for ce_type, fields in CATALOGUE.items())
    assert "sangsaeng.intake.BusinessStageChanged.v2: business_id (uuid), from_stage (enum), to_stage (enum), reason_code (enum)" in listing
    unclassified = [f"{ce_type}: {path}" for ce_type, fields in CATALOGUE.items() for path, kind, _ in fields if kind == "unclassified"]
    assert not unclassified, "string fields that are neither a code, an id, a date nor declared free text " \
                             "(type them with sangsaeng_common.contracts.common):\n" + "\n".join(unclassified) + "\n\n" + listing


@pytest.mark.parametrize("ce_type", [t for t, fields in CATALOGUE.items() if any(k == "free-text" for _, k, _ in fields)])
def test_declared_free_text_is_handled(ce_type, monkeypatch):
    contract = REGISTRY[ce_type]
    free = [(path, node) for path, kind, node in CATALOGUE[ce_type] if kind == "free-text"]
    handlings = {node.get("x-free-text-handling") for _, node in free}
    if is_newest(contract):
        # The newest version is what producers write today: free text only where no erasure could be owed.
        assert handlings == {NOT_ABOUT_A_BUSINESS}, f"{ce_type}: free text in a published version: {[p for p, _ in free]}"
        assert "business_id" not in contract.model_fields, f"{ce_type} is about a business: its free text would outlive an erasure"
        return
    # A superseded version: its upcaster must drop the words, whatever they are.
    assert handlings == {SUPERSEDED}, ce_type
    original = publish._sample_string
    monkeypatch.setattr(publish, "_sample_string", lambda node: SENTINEL if node.get("x-string") == "free-text" else original(node))
    samples = [s for s in publish.samples(publish.event_schema(contract)) if SENTINEL in json.dumps(s, ensure_ascii=False)]
    assert samples, f"{ce_type}: no sample holds its free text"
    for data in samples:
        newest = upcast(contract.model_validate(data))
        assert is_newest(type(newest))
        assert SENTINEL not in newest.model_dump_json(), f"{ce_type} -> {newest.ce_type()} copies free text"


def test_the_fields_issue_18_names_carry_codes_in_their_newest_version():
    newest = {ce_type: dict((p, k) for p, k, _ in fields) for ce_type, fields in CATALOGUE.items() if is_newest(REGISTRY[ce_type])}
    assert newest["sangsaeng.intake.BusinessStageChanged.v2"]["reason_code"] == "enum"
    assert "follow_ups[].action" not in newest["sangsaeng.visits.VisitRecorded.v2"]
    assert newest["sangsaeng.visits.VisitCancelled.v2"]["reason_code"] == "enum"
    assert newest["sangsaeng.loans.LoanRejected.v2"]["reason_codes[]"] == "enum"
    assert newest["sangsaeng.loans.LoanWithdrawn.v2"]["reason_code"] == "enum"
    assert "note" not in newest["sangsaeng.referrals.ReferralCompleted.v2"]
    assert newest["sangsaeng.districts.StoreLeftDistrict.v2"]["reason_code"] == "enum"
    # no newest version about a business holds free text
    for ce_type, kinds in newest.items():
        if "business_id" in REGISTRY[ce_type].model_fields:
            assert "free-text" not in kinds.values(), ce_type
