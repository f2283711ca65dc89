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


async def _columns(conn: asyncpg.Connection, schema: str, table: str) -> list[str]:
    return [r["attname"] for r in await conn.fetch(
        "select attname from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped order by attnum",
        f'"{schema}"."{table}"')]


async def diff_table(conn: asyncpg.Connection, live: str, scratch: str, model: ReadModel, subject: str | None = None, sample: int = 10) -> TableDiff:
    """Both tables streamed side by side (a full outer join on the key, read through a
    cursor), each pair of rows compared in Python: memory stays flat in the size of the
    tables (holding both as dicts took ~3 KiB a row, 3 GiB for a million). Rows are matched
    as before, by the text of their key columns, and compared as the decoded values."""
    columns = await _columns(conn, live, model.table)
    compared = [c for c in columns if c not in model.ignore]
    where = f' where "{model.subject}"::text = $1' if subject and model.subject else ""
    args = [subject] if where else []

    def side(alias: str) -> str:
        return ", ".join(f'{alias}."{c}" as "{alias}{i}"' for i, c in enumerate(compared))

    def key(alias: str) -> str:
        return f'row({", ".join(f"{alias}.{chr(34)}{k}{chr(34)}" for k in model.key)})::text'

    query = (f"select {side('l')}, {side('s')}, l._diff_present as l_present, s._diff_present as s_present "
             f'from (select *, true as _diff_present from "{live}"."{model.table}"{where}) as l '
             f'full outer join (select *, true as _diff_present from "{scratch}"."{model.table}"{where}) as s '
             f"on {key('l')} = {key('s')}")
    result = TableDiff(model.table, 0, 0)
    async with conn.transaction():
        async for r in conn.cursor(query, *args, prefetch=2000):
            row = {c: r[f"l{i}"] for i, c in enumerate(compared)} if r["l_present"] else None
            other = {c: r[f"s{i}"] for i, c in enumerate(compared)} if r["s_present"] else None
            result.live_rows += row is not None
            result.rebuilt_rows += other is not None
            if other is None:
                if len(result.missing) < sample:
                    result.missing.append(_jsonable(row))
            elif row is None:
                if len(result.extra) < sample:
                    result.extra.append(_jsonable(other))
            elif other != row and len(result.different) < sample:
                changed = {k: {"live": row[k], "rebuilt": other.get(k)} for k in row if row[k] != other.get(k)}
                result.different.append(_jsonable({"key": {k: str(row[k]) for k in model.key}, "columns": changed}))
    return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
