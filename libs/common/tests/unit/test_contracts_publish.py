"""Published contracts: the committed JSON Schemas and AsyncAPI document match the code, and
no published event version changes in a breaking way."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from typer.testing import CliRunner

from sangsaeng_common.contracts import REGISTRY
from sangsaeng_common.contracts import publish
from sangsaeng_common.contracts.publish import REGENERATE, breaking_changes, breaking_against, drift

BASE = {
    "$defs": {
        "Kind": {"enum": ["a", "b"], "type": "string"},
        "Item": {"type": "object", "properties": {"action": {"type": "string"}, "due_on": {"type": "string"}}, "required": ["action"]},
    },
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "kind": {"$ref": "#/$defs/Kind"},
        "amount": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
    },
    "required": ["id", "kind"],
}


def changed(edit) -> dict:
    schema = copy.deepcopy(BASE)
    edit(schema)
    return schema


def test_the_committed_contracts_match_the_code():
    on_disk = publish.committed(publish.default_out())
    current = publish.generate()
    broken = breaking_against(current, on_disk)
    assert not broken, "breaking changes to published event versions (add a .v<N+1> instead):\n" + "\n".join(broken)
    unreadable = publish.backward_transitive_problems()
    assert not unreadable, "a new version whose readers cannot read every earlier version (BACKWARD_TRANSITIVE):\n" + "\n".join(unreadable)
    drifted = drift(current, on_disk)
    assert not drifted, f"contracts/ is out of date; regenerate with `{REGENERATE}` and commit contracts/:\n" + "\n".join(drifted)


def test_every_contract_has_a_schema_and_a_message():
    document = publish.asyncapi()
    assert document["asyncapi"] == "3.0.0"
    assert set(REGISTRY) <= set(document["components"]["messages"])
    assert set(publish.schemas()) == set(REGISTRY)
    for address in ("sangsaeng.referrals.events", "sangsaeng.agency.SEOUL_CREDIT_GUARANTEE.referrals", "sangsaeng.{consumer}.dlq"):
        assert address in document["channels"]
    agency = document["channels"]["sangsaeng.agency.SEMAS.referrals"]["messages"]
    assert list(agency) == ["ReferralSent.v1", "ReferralBasisLost.v1", "ReferralPersonalDataShared.v1"]  # what the agency must know, and only that
    for schema in publish.schemas().values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_an_event_validates_against_its_published_schema():
    from datetime import UTC, datetime
    from uuid import uuid4

    from sangsaeng_common.contracts.referrals import ReferralSent

    event = ReferralSent(referral_id=uuid4(), business_id=uuid4(), agency="SEMAS", program="education", reason="visit:education",
                         sent_at=datetime.now(UTC))
    schema = publish.schemas()[ReferralSent.ce_type()]
    jsonschema.validate(json.loads(event.model_dump_json()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**json.loads(event.model_dump_json()), "agency": "NOBODY"}, schema)


def test_adding_an_optional_property_is_not_breaking():
    assert breaking_changes(BASE, changed(lambda s: s["properties"].update(note={"type": "string"}))) == []
    assert breaking_changes(BASE, BASE) == []
    # making a required property optional is fine for readers too
    assert breaking_changes(BASE, changed(lambda s: s["required"].remove("kind"))) == []


def test_removing_a_property_is_breaking():
    assert breaking_changes(BASE, changed(lambda s: s["properties"].pop("amount"))) == ["amount: property removed"]


def test_a_new_required_property_is_breaking():
    def edit(s):
        s["properties"]["dong"] = {"type": "string"}
        s["required"].append("dong")

    assert breaking_changes(BASE, changed(edit)) == ["dong: property became required"]
    assert breaking_changes(BASE, changed(lambda s: s["required"].append("amount"))) == ["amount: property became required"]


def test_changing_a_type_is_breaking():
    assert breaking_changes(BASE, changed(lambda s: s["properties"].update(id={"type": "integer"}))) == [
        "id: type changed from ['string'] to ['integer']"
    ]
    # through a $ref, and widening to nullable counts too (readers would meet null)
    assert breaking_changes(BASE, changed(lambda s: s["$defs"]["Kind"].update(type="integer"))) == [
        "kind: type changed from ['string'] to ['integer']"
    ]
    assert breaking_changes(BASE, changed(lambda s: s["properties"].update(id={"anyOf": [{"type": "string"}, {"type": "null"}]}))) == [
        "id: type changed from ['string'] to ['null', 'string']"
    ]


def test_changes_inside_nested_objects_are_found():
    assert breaking_changes(BASE, changed(lambda s: s["$defs"]["Item"]["properties"].pop("due_on"))) == ["items[].due_on: property removed"]
    assert breaking_changes(BASE, changed(lambda s: s["$defs"]["Item"]["required"].append("due_on"))) == [
        "items[].due_on: property became required"
    ]
    assert breaking_changes(BASE, changed(lambda s: s["properties"]["items"].update(items={"type": "string"}))) == [
        "items[]: item type changed from ['object'] to ['string']"
    ]


def test_a_removed_version_is_breaking_and_drift_is_reported():
    on_disk = {"schemas/sangsaeng.x.Gone.v1.json": json.dumps(BASE), "asyncapi.json": "{}"}
    assert breaking_against({"asyncapi.json": "{}"}, on_disk) == ["sangsaeng.x.Gone.v1: published version removed"]
    assert drift({"asyncapi.json": "{ }", "schemas/new.json": "{}"}, on_disk) == [
        "schemas/new.json: not committed",
        "schemas/sangsaeng.x.Gone.v1.json: committed but no longer generated",
        "asyncapi.json: differs from the code",
    ]


def test_write_refuses_a_breaking_change_and_check_reports_drift(tmp_path):
    runner = CliRunner()
    assert runner.invoke(publish.app, ["write", "--out", str(tmp_path)]).exit_code == 0
    assert runner.invoke(publish.app, ["check", "--out", str(tmp_path)]).exit_code == 0
    path = tmp_path / "schemas" / "sangsaeng.referrals.ReferralSent.v1.json"
    original = path.read_text()
    published = json.loads(original)
    published["properties"]["legacy"] = {"type": "string"}  # as if the code had dropped a property
    path.write_text(json.dumps(published))
    refused = runner.invoke(publish.app, ["write", "--out", str(tmp_path)])
    assert refused.exit_code == 1 and "legacy: property removed" in refused.output
    checked = runner.invoke(publish.app, ["check", "--out", str(tmp_path)])
    assert checked.exit_code == 1 and "breaking: sangsaeng.referrals.ReferralSent.v1: legacy: property removed" in checked.output
    path.write_text(original)
    (tmp_path / "asyncapi.json").write_text("{}")
    drifted = runner.invoke(publish.app, ["check", "--out", str(tmp_path)])
    assert drifted.exit_code == 1 and REGENERATE in drifted.output
