"""Published contracts: a JSON Schema for every event in REGISTRY and an AsyncAPI 3.0
document for every topic, generated from the code and committed under `contracts/`.

    python -m sangsaeng_common.contracts.publish write   # regenerate (refuses a breaking change)
    python -m sangsaeng_common.contracts.publish check   # drift and breaking changes (make test runs it)

An existing event version may only grow: adding an optional property is fine; removing a
property, making a property required that was not, or changing a property's type is a
breaking change and needs a new version (`.v2`) instead.

A new version follows Confluent Schema Registry's BACKWARD_TRANSITIVE rule: a reader of the
new version reads data written with *every* earlier version (not only the one before). A
reader here is the chain of upcasters plus the newest contract, so the check writes sample
data of each earlier version's schema (required fields only; every field; every value of
every enumeration), reads it as that version, upcasts it and validates it as the new one;
and it refuses a version with no upcaster from the version before.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from sangsaeng_common.contracts import (
    REGISTRY, UPCASTERS, Event, dlq_topic, events_topic, is_newest, known_versions, missing_upcasters, source_of,
)
from sangsaeng_common.contracts.common import AgencyCode
from sangsaeng_common.contracts.referrals import AGENCY_EVENTS, agency_topic

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
REGENERATE = "python -m sangsaeng_common.contracts.publish write"


def default_out() -> Path:
    """`contracts/` at the root of the repository (this file is libs/common/src/sangsaeng_common/contracts/)."""
    return Path(__file__).resolve().parents[5] / "contracts"


# ---------------------------------------------------------------- JSON Schemas


def event_schema(contract: type[Event]) -> dict[str, Any]:
    """The JSON Schema of an event's data (the Kafka value), as a tolerant reader sees it:
    fields with a default are optional, unknown fields are allowed."""
    schema = contract.model_json_schema(mode="validation")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "x-ce-type": contract.ce_type(),
        "x-ce-source": source_of(contract.producer),
        "x-topic": contract.topic(),
        **schema,
    }


def schemas() -> dict[str, dict[str, Any]]:
    return {ce_type: event_schema(REGISTRY[ce_type]) for ce_type in sorted(REGISTRY)}


# ---------------------------------------------------------------- AsyncAPI


CLOUDEVENTS_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0, Kafka binary content mode: context attributes as headers (UTF-8 strings), "
    "the event's JSON data as the value, the business id (a district's events: the district id) as the key.",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "format": "uuid", "description": "time-ordered UUID (v7); the same on every topic carrying the event"},
        "ce_source": {"type": "string", "description": "/sangsaeng/<service>"},
        "ce_type": {"type": "string", "description": "sangsaeng.<service>.<Name>.v<N>"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "the business id (a district's events: the district id); also the Kafka key"},
        "content-type": {"type": "string", "const": "application/json"},
        "ce_correlationid": {"type": "string", "description": "the id shared by every event of one flow"},
        "ce_causationid": {"type": "string", "description": "the ce_id of the event that caused this one"},
        "ce_actor": {
            "type": "string",
            "description": "CloudEvents extension attribute `actor`: the subject id (a pseudonymous staff number such as "
            "S-1001, P-2001, L-3001, G-SEMAS; never a name) of the person or system on whose command the event happened. "
            "A command's events carry its caller's; an event a consumer emits in reaction carries its cause's. Absent on "
            "events recorded before events named their actor. Audit's verify checks the rules about people by it.",
        },
        "traceparent": {"type": "string", "description": "W3C trace context"},
    },
}

DEAD_LETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "The original record's headers, plus why and where it failed.",
    "properties": {
        "dlq_reason": {"type": "string", "description": "e.g. missing_headers, schema_invalid, unsupported_version, handler_failed"},
        "dlq_error": {"type": "string"},
        "dlq_consumer": {"type": "string"},
        "dlq_origin_topic": {"type": "string"},
        "dlq_origin_partition": {"type": "string"},
        "dlq_origin_offset": {"type": "string"},
        "dlq_time": {"type": "string", "format": "date-time"},
    },
}


def _message(contract: type[Event]) -> dict[str, Any]:
    ce_type = contract.ce_type()
    summary = (contract.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ") or contract.name
    newest = max(known_versions(contract.producer, contract.name))
    if not is_newest(contract):
        summary = (f"Superseded by v{newest}: no longer published, but still in the log. Consumers read it "
                   f"upcast to v{newest} (sangsaeng_common.contracts.upcast). " + summary)
    headers = {
        "allOf": [
            {"$ref": "#/components/schemas/CloudEventsHeaders"},
            {"properties": {"ce_type": {"const": ce_type}, "ce_source": {"const": source_of(contract.producer)}}},
        ]
    }
    return {
        "name": contract.name,
        "title": f"{contract.name} v{contract.version}",
        "summary": summary,
        "contentType": "application/json",
        "headers": headers,
        "payload": {"$ref": f"schemas/{ce_type}.json"},
        "bindings": {"kafka": {"key": {"type": "string", **({"format": "uuid"} if contract.key_description.endswith(" id") else {}), "description": contract.key_description}, "bindingVersion": "0.5.0"}},
    }


def _channel_message_id(contract: type[Event]) -> str:
    return f"{contract.name}.v{contract.version}"


def _events_description(producer: str, members: list[type[Event]]) -> str:
    key = members[0].key_description
    return f"Every event {producer} publishes; only {producer} writes here. Key = {key.removeprefix('the ')}, so one {key.removeprefix('the ').removesuffix(' id')}'s events keep their order."


def asyncapi() -> dict[str, Any]:
    contracts = [REGISTRY[t] for t in sorted(REGISTRY)]
    producers = sorted({c.producer for c in contracts})
    retention = {"kafka": {"topicConfiguration": {"retention.ms": -1}, "bindingVersion": "0.5.0"}}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    def add_channel(address: str, description: str, members: list[type[Event]], **extra: Any) -> None:
        channels[address] = {
            "address": address,
            "description": description,
            "messages": {_channel_message_id(c): {"$ref": f"#/components/messages/{c.ce_type()}"} for c in members},
            "bindings": retention,
            **extra,
        }
        # A channel lists every version (readers meet them all in the log); producers send the newest only.
        operations[f"publish.{address}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{address}"},
            "messages": [{"$ref": f"#/channels/{address}/messages/{_channel_message_id(c)}"} for c in members if is_newest(c)],
        }

    for producer in producers:
        members = [c for c in contracts if c.producer == producer and c.topic() == events_topic(producer)]
        add_channel(events_topic(producer), _events_description(producer, members), members)
    # Topics of their own (the ledger's checkpoints): described by their events' docstrings.
    for topic in sorted({c.topic() for c in contracts} - {events_topic(p) for p in producers}):
        members = [c for c in contracts if c.topic() == topic]
        add_channel(topic, " ".join(" ".join((c.__doc__ or "").split()) for c in members), members)
    for agency in AgencyCode:
        add_channel(
            agency_topic(agency),
            f"The referrals sent to {agency.value}, and what it must know of them later, and nothing else: the agency is "
            "granted read access to this topic only. ReferralSent: answer through the agency API (POST /referrals/{id}/acknowledge, "
            "POST /referrals/{id}/outcome). ReferralBasisLost: the referral lost its basis (consent withdrawn, business erased): "
            "stop using, and if `delete_personal_data` delete, the personal data it came with. ReferralPersonalDataShared: a "
            "referral sent without personal data may now be worked with it (the owner's consent covers the agency). "
            "Each record is also on sangsaeng.referrals.events with the same ce_id.",
            list(AGENCY_EVENTS),
        )
    channels["sangsaeng.{consumer}.dlq"] = {
        "address": dlq_topic("{consumer}"),
        "description": "Dead letters of one consumer: records it can never process (undecodable, schema-invalid, "
        "unsupported version, wrong source, or a handler that failed for good), with the reason in headers.",
        "parameters": {"consumer": {"description": "the consuming service, e.g. visits, referrals"}},
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
        "bindings": retention,
    }
    operations["publish.sangsaeng.{consumer}.dlq"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/sangsaeng.{consumer}.dlq"},
        "messages": [{"$ref": "#/channels/sangsaeng.{consumer}.dlq/messages/DeadLetter"}],
    }
    messages = {c.ce_type(): _message(c) for c in contracts}
    messages["DeadLetter"] = {
        "name": "DeadLetter",
        "title": "Dead letter",
        "summary": "The original record's key and value unchanged, its headers plus dlq_* headers.",
        "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
        "payload": {"description": "the original value, byte for byte"},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Sangsaeng events",
            "version": "1.0.0",
            "description": "Topics and events of the Dongdaemun-gu Small Business Support Center. Generated from the code "
            f"(libs/common/src/sangsaeng_common/contracts); regenerate with `{REGENERATE}`.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {"host": "localhost:9092", "protocol": "kafka", "description": "KAFKA_BOOTSTRAP_SERVERS of the deployment"}
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {"CloudEventsHeaders": CLOUDEVENTS_HEADERS, "DeadLetterHeaders": DEAD_LETTER_HEADERS},
            "messages": messages,
        },
    }


# ---------------------------------------------------------------- files


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """Relative path -> file content of everything published."""
    files = {f"schemas/{ce_type}.json": render(schema) for ce_type, schema in schemas().items()}
    files["asyncapi.json"] = render(asyncapi())
    return files


def committed(out: Path) -> dict[str, str]:
    if not out.exists():
        return {}
    found = {"asyncapi.json": (out / "asyncapi.json").read_text()} if (out / "asyncapi.json").exists() else {}
    found.update({f"schemas/{p.name}": p.read_text() for p in sorted((out / "schemas").glob("*.json"))})
    return found


def drift(current: dict[str, str], on_disk: dict[str, str]) -> list[str]:
    problems = [f"{path}: not committed" for path in sorted(current.keys() - on_disk.keys())]
    problems += [f"{path}: committed but no longer generated" for path in sorted(on_disk.keys() - current.keys())]
    problems += [f"{path}: differs from the code" for path in sorted(current.keys() & on_disk.keys()) if current[path] != on_disk[path]]
    return problems


# ---------------------------------------------------------------- breaking changes


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and str(node["$ref"]).startswith("#/") and seen < 20:
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, seen = target, seen + 1
    return node if isinstance(node, dict) else {}


def _types(node: dict[str, Any], root: dict[str, Any]) -> frozenset[str]:
    """The JSON types a property may take (empty: any)."""
    node = _resolve(node, root)
    if "type" in node:
        kind = node["type"]
        return frozenset(kind if isinstance(kind, list) else [kind])
    for combinator in ("anyOf", "oneOf"):
        if combinator in node:
            return frozenset().union(*(_types(branch, root) for branch in node[combinator]))
    if "allOf" in node:
        found = [t for t in (_types(b, root) for b in node["allOf"]) if t]
        return found[0] if found else frozenset()
    values = node.get("enum", [node["const"]] if "const" in node else [])
    names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null", list: "array", dict: "object"}
    return frozenset(names[type(v)] for v in values)


def _branches(node: dict[str, Any], root: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The resolved sub-schemas of `node` that are of JSON type `kind` (through anyOf/oneOf)."""
    node = _resolve(node, root)
    if node.get("type") == kind or (isinstance(node.get("type"), list) and kind in node["type"]):
        return [node]
    return [b for c in ("anyOf", "oneOf") for branch in node.get(c, []) for b in _branches(branch, root, kind)]


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """How `new` would break readers of `old` (one event version's schema): a property
    removed, a property newly required, or a property's type changed, at any depth."""
    problems: list[str] = []

    def compare(old_node: dict[str, Any], new_node: dict[str, Any], path: str, depth: int) -> None:
        if depth > 20:
            return
        old_node, new_node = _resolve(old_node, old), _resolve(new_node, new)
        old_props, new_props = old_node.get("properties", {}), new_node.get("properties", {})
        for name in old_props:
            if name not in new_props:
                problems.append(f"{path}{name}: property removed")
        newly_required = set(new_node.get("required", [])) - set(old_node.get("required", []))
        for name in sorted(newly_required):
            problems.append(f"{path}{name}: property became required")
        for name in old_props:
            if name not in new_props:
                continue
            before, after = _types(old_props[name], old), _types(new_props[name], new)
            if before != after:
                problems.append(f"{path}{name}: type changed from {sorted(before) or 'any'} to {sorted(after) or 'any'}")
                continue
            for old_obj, new_obj in zip(_branches(old_props[name], old, "object"), _branches(new_props[name], new, "object")):
                compare(old_obj, new_obj, f"{path}{name}.", depth + 1)
            for old_arr, new_arr in zip(_branches(old_props[name], old, "array"), _branches(new_props[name], new, "array")):
                old_items, new_items = old_arr.get("items", {}), new_arr.get("items", {})
                before_items, after_items = _types(old_items, old), _types(new_items, new)
                if before_items != after_items:
                    problems.append(f"{path}{name}[]: item type changed from {sorted(before_items) or 'any'} to {sorted(after_items) or 'any'}")
                    continue
                for old_obj, new_obj in zip(_branches(old_items, old, "object"), _branches(new_items, new, "object")):
                    compare(old_obj, new_obj, f"{path}{name}[].", depth + 1)

    compare(old, new, "", 0)
    return problems


def breaking_against(current: dict[str, str], on_disk: dict[str, str]) -> list[str]:
    """Breaking changes of the current schemas against the committed ones, per event version."""
    problems = []
    for path in sorted(p for p in on_disk if p.startswith("schemas/")):
        ce_type = path.removeprefix("schemas/").removesuffix(".json")
        if path not in current:
            problems.append(f"{ce_type}: published version removed")
            continue
        problems += [f"{ce_type}: {p}" for p in breaking_changes(json.loads(on_disk[path]), json.loads(current[path]))]
    return problems


# ---------------------------------------------------------------- new versions (BACKWARD_TRANSITIVE)

_SAMPLE_STRINGS = ("2208162517", "x", "제기동")  # tried in turn against a string's pattern


def _sample(node: dict[str, Any], root: dict[str, Any], *, full: bool, pick: int, nulls: bool = False, depth: int = 0) -> Any:
    """One instance of a JSON Schema node: `full` sets every property (else the required
    ones only), `pick` chooses among an enumeration's values (modulo its length), `nulls`
    writes null wherever null is allowed."""
    node = _resolve(node, root)
    if depth > 20:
        return None
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][pick % len(node["enum"])]
    for combinator in ("anyOf", "oneOf"):
        if combinator in node:
            branches = [b for b in node[combinator] if _resolve(b, root).get("type") != "null"] or node[combinator]
            if nulls and len(branches) < len(node[combinator]):
                return None
            return _sample(branches[pick % len(branches)], root, full=full, pick=pick, nulls=nulls, depth=depth + 1)
    if "allOf" in node:
        return _sample(node["allOf"][0], root, full=full, pick=pick, nulls=nulls, depth=depth + 1)
    kind = node.get("type")
    if kind == "object":
        required = set(node.get("required", []))
        return {name: _sample(prop, root, full=full, pick=pick, nulls=nulls, depth=depth + 1)
                for name, prop in node.get("properties", {}).items() if full or name in required}
    if kind == "array":
        count = max(node.get("minItems", 0), 1 if full else 0)
        return [_sample(node.get("items", {}), root, full=full, pick=pick + i, nulls=nulls, depth=depth + 1) for i in range(count)]
    if kind == "string":
        return _sample_string(node)
    if kind == "integer":
        return max(1, node.get("minimum", 1), node.get("exclusiveMinimum", 0) + 1)
    if kind == "number":
        return float(max(1, node.get("minimum", 1)))
    if kind == "boolean":
        return bool(pick % 2) if full else False
    return None


def _sample_string(node: dict[str, Any]) -> str:
    match node.get("format"):
        case "uuid":
            return "0190f5a0-0000-7000-8000-000000000001"
        case "date":
            return "2025-05-12"
        case "date-time":
            return "2025-05-12T09:30:00+09:00"
    if (pattern := node.get("pattern")) is not None:
        for candidate in _SAMPLE_STRINGS:
            if re.search(pattern, candidate):
                return candidate
        raise ValueError(f"no sample string matches the pattern {pattern!r}: add one to _SAMPLE_STRINGS")
    return "x" * max(1, node.get("minLength", 1))


def samples(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Data a writer of `schema` may produce: the required fields only, every field, and every
    field with null wherever null is allowed, with every value of every enumeration at least once."""
    widest = 1

    def count(node: Any, depth: int = 0) -> None:
        nonlocal widest
        if depth > 40:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("enum", "anyOf", "oneOf") and isinstance(value, list):
                    widest = max(widest, len(value))
                count(value, depth + 1)
        elif isinstance(node, list):
            for value in node:
                count(value, depth + 1)

    count(schema)
    found = [_sample(schema, schema, full=full, pick=pick, nulls=nulls)
             for full, nulls in ((False, False), (True, False), (True, True)) for pick in range(widest)]
    return [s for i, s in enumerate(found) if s not in found[:i]]


def backward_transitive_problems() -> list[str]:
    """Every version after the first: an upcaster from the one before, and a reader of it
    reads every earlier version's data (through the upcasters)."""
    problems = missing_upcasters()
    if problems:
        return problems
    for contract in sorted(REGISTRY.values(), key=lambda c: c.ce_type()):
        if contract.version == 1:
            continue
        for earlier in range(1, contract.version):
            writer = REGISTRY[f"sangsaeng.{contract.producer}.{contract.name}.v{earlier}"]
            for data in samples(event_schema(writer)):
                where = f"{contract.ce_type()}: reading {writer.ce_type()} data {json.dumps(data, ensure_ascii=False)}"
                try:
                    event = _upcast_until(writer.model_validate(data), contract.version)
                    if type(event) is not contract:
                        raise TypeError(f"upcast to {event.ce_type()}")
                    contract.model_validate_json(event.model_dump_json())
                except (ValidationError, ValueError, TypeError) as exc:
                    problems.append(f"{where}: {exc}")
    return problems


def _upcast_until(event: Event, version: int) -> Event:
    """`event` upcast to `version` of its type (not further: each new version is checked on its own)."""
    while event.version < version:
        event = UPCASTERS[event.ce_type()](event)
    return event


# ---------------------------------------------------------------- command line

app = typer.Typer(help="Published contracts: JSON Schemas and AsyncAPI generated from the code.", add_completion=False,
                  no_args_is_help=True)


@app.command()
def write(
    out: Path = typer.Option(None, help="default: contracts/ at the repository root"),
    allow_breaking: bool = typer.Option(False, "--allow-breaking", help="overwrite even a breaking change (never for a published version)"),
) -> None:
    """Regenerate contracts/ from the code."""
    out = out or default_out()
    current, on_disk = generate(), committed(out)
    if unreadable := backward_transitive_problems():
        typer.echo("refused: a new event version its readers cannot read every earlier version of:", err=True)
        for problem in unreadable:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1)
    broken = breaking_against(current, on_disk)
    if broken and not allow_breaking:
        typer.echo("refused: breaking changes to published event versions (add a new version .v<N+1> instead):", err=True)
        for problem in broken:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1)
    (out / "schemas").mkdir(parents=True, exist_ok=True)
    for stale in on_disk.keys() - current.keys():
        (out / stale).unlink()
    for path, content in current.items():
        if on_disk.get(path) != content:
            (out / path).write_text(content)
    typer.echo(f"wrote {len(current)} files to {out}")


@app.command()
def check(out: Path = typer.Option(None, help="default: contracts/ at the repository root")) -> None:
    """Fail if the committed contracts differ from the code, or if the code breaks a published version."""
    out = out or default_out()
    current, on_disk = generate(), committed(out)
    broken, drifted = breaking_against(current, on_disk), drift(current, on_disk)
    broken += [f"BACKWARD_TRANSITIVE: {p}" for p in backward_transitive_problems()]
    for problem in broken:
        typer.echo(f"breaking: {problem}", err=True)
    for problem in drifted:
        typer.echo(f"drift: {problem}", err=True)
    if broken:
        typer.echo("A published event version may only gain optional properties; add a new version instead, with an upcaster "
                   "from the one before that reads every earlier version's data.", err=True)
    if drifted and not broken:
        typer.echo(f"The contracts changed in the code: regenerate with `{REGENERATE}` and commit contracts/.", err=True)
    if broken or drifted:
        raise typer.Exit(1)
    typer.echo(f"contracts/ matches the code ({len(current)} files)")


if __name__ == "__main__":
    app()
