"""Read models: the tables a service's consumers build, named so that a replay can rebuild
them and compare the rebuilt rows with the live ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg


@dataclass(frozen=True)
class ReadModel:
    """A table built by consumers: `key` identifies a row; `ignore` lists columns that may
    legitimately differ in a rebuild (times of processing, ids generated while handling)."""

    table: str
    key: tuple[str, ...]
    ignore: tuple[str, ...] = ()
    subject: str | None = None  # the column holding the business id, for time travel


@dataclass
class TableDiff:
    table: str
    live_rows: int
    rebuilt_rows: int
    missing: list[dict[str, Any]] = field(default_factory=list)  # live, not rebuilt
    extra: list[dict[str, Any]] = field(default_factory=list)  # rebuilt, not live
    different: list[dict[str, Any]] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.missing or self.extra or self.different)


async def _rows(conn: asyncpg.Connection, schema: str, model: ReadModel, subject: str | None) -> dict[tuple, dict[str, Any]]:
    where = f' where "{model.subject}"::text = $1' if subject and model.subject else ""
    args = [subject] if where else []
    rows = await conn.fetch(f'select * from "{schema}"."{model.table}"{where}', *args)
    out = {}
    for r in rows:
        row = {k: v for k, v in dict(r).items() if k not in model.ignore}
        out[tuple(str(row[k]) for k in model.key)] = row
    return out


async def diff_table(conn: asyncpg.Connection, live: str, scratch: str, model: ReadModel, subject: str | None = None, sample: int = 10) -> TableDiff:
    live_rows, rebuilt = await _rows(conn, live, model, subject), await _rows(conn, scratch, model, subject)
    result = TableDiff(model.table, len(live_rows), len(rebuilt))
    for key, row in live_rows.items():
        other = rebuilt.get(key)
        if other is None:
            result.missing.append(_jsonable(row))
        elif other != row:
            changed = {k: {"live": row[k], "rebuilt": other.get(k)} for k in row if row[k] != other.get(k)}
            result.different.append(_jsonable({"key": dict(zip(model.key, key)), "columns": changed}))
    result.extra = [_jsonable(row) for key, row in rebuilt.items() if key not in live_rows]
    result.missing, result.extra, result.different = result.missing[:sample], result.extra[:sample], result.different[:sample]
    return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
