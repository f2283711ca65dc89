"""A service's directory of businesses, kept from intake's business events.

Several services keep their own copy of the businesses they serve: a `businesses` table
fed by BusinessRegistered, BusinessDetailsChanged, BusinessStageChanged and BusinessErased.
This module is that projection, written once. A service declares what it keeps and how it
forgets:

    directory = BusinessDirectory(
        columns=("name", "registration_number", "dong", "industry", "stage"),  # BusinessRegistered's fields
        stage_history=True,                         # a `business_stage_history` table too
        erasure=Erasure(blank={"name": "(삭제됨)", "registration_number": None}),
        on_registered=count_dongs,                  # (conn, first registrations) -> None
        on_erased=forget_owner,                     # (tx, BusinessErased) -> None, per erasure
        before_erased=None,                         # (conn, ids) -> None: a service's own locks first
        on_stage_changed=None,                      # (ctx, BusinessStageChanged) -> None, per change
        on_details_changed=None,                    # (ctx, BusinessDetailsChanged, before) -> None, per change
    )
    directory.register(handlers)                    # on the service's `Handlers` registry

The table (the service's own migration makes it) has `id uuid primary key`, the declared
columns (named as BusinessRegistered's fields, `business_id` being `id`), `registered
boolean not null default true`, `erased_at timestamptz` and `updated_at timestamptz`.
With `stage_history`, `business_stage_history (business_id, position, from_stage,
to_stage, changed_on, event_id)` keyed by (business_id, position).

Guarantees, as every consumer's (sangsaeng_common.consumer, .inbox): the four events are one
batch handler, so a run of them is written in a few set-based statements, inside the
inbox transaction (a redelivered event is never applied twice). A business's events come
from one partition, in log order. A run is applied in four phases (registrations, then
changes of details, then stage changes, then erasures), which gives what log order gives: a
registration precedes its business's changes and erasure on the partition; an erasure
touches only the blanked columns and erased_at, a stage change only the stage and the
history, a change of details only the details it names and never a blanked column of an
erased business; and a registration arriving after its erasure keeps the blanks (below).
Stage changes keep log order among themselves (each takes its business's next history
position); changes of details are applied one by one in log order (they are rare: a person
edits a business), each handing the service's hook the kept values it replaced.

Erasure: the policy's columns are set to their blanks, `erased_at` is set (the first
erasure's time is kept), and `on_erased` runs the service's own forgetting. An erasure
for a business the service never saw registered leaves a TOMBSTONE: a row with the
blanks, placeholders for the other columns, `registered = false` and `erased_at`. The
same behaviour for every service, because it is the one that cannot leak: the only way
to get there is a registration that did not arrive first (dead-lettered, then redriven;
a service subscribing late; a replay of part of the log), and when it does arrive, it
finds the business erased and stores only its non-personal facts. Ignoring the erasure
would store the owner's name when that registration came. It also makes "erased" known
to the service's commands (refused as erased, not as unknown).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.contracts.intake import BusinessDetailsChanged, BusinessErased, BusinessRegistered, BusinessStageChanged
from sangsaeng_common.read_models import ReadModel

ERASED = "(삭제됨)"  # what a blanked name reads as, in every service that keeps one


@dataclass(frozen=True)
class _Field:
    sql_type: str
    value: Callable[[BusinessRegistered], Any]
    placeholder: Any  # a tombstone's value, where the column is not blanked


# The BusinessRegistered fields a directory may keep, as columns of the same names.
FIELDS: dict[str, _Field] = {
    "registration_number": _Field("text", lambda e: e.registration_number, None),
    "name": _Field("text", lambda e: e.name, ERASED),
    "dong": _Field("text", lambda e: e.dong, ""),
    "industry": _Field("text", lambda e: e.industry, ""),
    "employees": _Field("int", lambda e: e.employees, 0),
    "is_micro_business": _Field("bool", lambda e: e.is_micro_business, False),
    "stage": _Field("text", lambda e: e.stage.value, "closed"),
    "registered_on": _Field("date", lambda e: e.registered_on, None),
}

OnRegistered = Callable[[asyncpg.Connection, list[BusinessRegistered]], Awaitable[None]]
OnErased = Callable[[EventContext, BusinessErased], Awaitable[None]]
BeforeErased = Callable[[asyncpg.Connection, list[UUID]], Awaitable[None]]
OnStageChanged = Callable[[EventContext, BusinessStageChanged], Awaitable[None]]
# (ctx, the change, the kept columns' values it replaced: only those it changed)
OnDetailsChanged = Callable[[EventContext, BusinessDetailsChanged, Mapping[str, Any]], Awaitable[None]]

# The BusinessDetailsChanged fields a directory follows (the address never travels).
DETAIL_FIELDS = ("name", "dong", "industry", "employees", "is_micro_business")


@dataclass(frozen=True)
class Erasure:
    """What an erasure does to the directory: each `blank` column is set to its value
    (e.g. {"name": ERASED, "registration_number": None}); erased_at is always set."""

    blank: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BusinessDirectory:
    columns: tuple[str, ...]
    erasure: Erasure = Erasure()
    stage_history: bool = False
    # Called with the registrations of businesses not registered before (first time
    # known, or a tombstone filled), in log order, after the run's rows are all written
    # (the last step of a run: see `apply`).
    on_registered: OnRegistered | None = None
    # Called for every erasure, in log order, after the directory's row is blanked: the
    # service's own forgetting (it may emit events through the context).
    on_erased: OnErased | None = None
    # Called with the ids of the businesses about to be erased, in id order, before the
    # directory's rows are written: for a service whose erasure must hold its own lock on
    # each business first (taken in id order, as every lock here).
    before_erased: BeforeErased | None = None
    # Called for every stage change, in log order, after the directory's stages (and
    # history) are written: a service that acts on a change (e.g. districts recounting a
    # closed member's district; it may emit events through the context).
    on_stage_changed: OnStageChanged | None = None
    # Called for every change of details the directory knows the business of, in log order,
    # after its row is written, with the values it replaced (e.g. visits moving its dong
    # counts, loans screening open applications again).
    on_details_changed: OnDetailsChanged | None = None
    table: str = "businesses"
    history_table: str = "business_stage_history"

    def __post_init__(self) -> None:
        unknown = [c for c in (*self.columns, *self.erasure.blank) if c not in FIELDS]
        if unknown:
            raise ValueError(f"not BusinessRegistered fields: {unknown}; a directory keeps some of {sorted(FIELDS)}")
        if not_kept := [c for c in self.erasure.blank if c not in self.columns]:
            raise ValueError(f"an erasure can blank only kept columns, not {not_kept}")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"columns named twice: {self.columns}")

    # ------------------------------------------------------------------ wiring

    def register(self, handlers: Handlers) -> None:
        """The batch handler of the four events on the service's registry."""

        async def keep_directory(conn: asyncpg.Connection, events: list[tuple[EventContext, Any]]) -> None:
            await self.apply(conn, events)

        handlers.on_batch(BusinessRegistered, BusinessDetailsChanged, BusinessStageChanged, BusinessErased)(keep_directory)

    def read_models(self, *, ignore: tuple[str, ...] = ()) -> list[ReadModel]:
        """The directory's tables, for the replay to compare (built from intake's events only)."""
        models = [ReadModel(self.table, key=("id",), ignore=("updated_at", *ignore), subject="id")]
        if self.stage_history:
            models.append(ReadModel(self.history_table, key=("business_id", "position"), subject="business_id"))
        return models

    # ------------------------------------------------------------------ the batch handler

    async def apply(self, conn: asyncpg.Connection, events: list[tuple[EventContext, Any]]) -> None:
        registered = [event for _, event in events if isinstance(event, BusinessRegistered)]
        details = [(ctx, event) for ctx, event in events if isinstance(event, BusinessDetailsChanged)]
        changes = [(ctx, event) for ctx, event in events if isinstance(event, BusinessStageChanged)]
        erasures = [(ctx, event) for ctx, event in events if isinstance(event, BusinessErased)]
        first = await self._register(conn, registered) if registered else []
        if details:
            await self._change_details(details)
        if changes:
            await self._change_stages(conn, changes)
        if erasures:
            await self._erase(conn, erasures)
        # Last: what it keeps (e.g. visits' counts per dong) is shared by every partition's
        # batches, applied at once in transactions of their own; its row locks, held to the
        # commit, then make the others wait for the commit alone, not for this run's other writes.
        if first:
            await self.on_registered(conn, first)

    async def _register(self, conn: asyncpg.Connection, registered: list[BusinessRegistered]) -> list[BusinessRegistered]:
        """Writes the run's registrations; returns those of businesses not registered before
        (for `on_registered`), in log order."""
        ids = sorted({e.business_id for e in registered})
        latest = {e.business_id: e for e in registered}  # a business registered twice in the run: the last wins, as one by one
        cols = ", ".join(self.columns)
        types = ", ".join(f"${i + 2}::{FIELDS[c].sql_type}[]" for i, c in enumerate(self.columns))
        # An erased business keeps its blanks: a registration arriving after its erasure
        # (see the module's docstring) brings back only what erasure does not take.
        sets = ", ".join(
            f'{c} = case when "{self.table}".erased_at is null then excluded.{c} else "{self.table}".{c} end'
            if c in self.erasure.blank else f"{c} = excluded.{c}"
            for c in self.columns
        )
        upsert = f"""insert into "{self.table}" (id, {cols}, registered)
                select c.*, true from unnest($1::uuid[], {types}) as c(id, {cols})
                on conflict (id) do update set {sets}, registered = true, updated_at = now()"""
        # Rows in id order, in every transaction: batches applied at once lock them in one order.
        rows = [latest[i] for i in ids]
        args = (ids, *([FIELDS[c].value(e) for e in rows] for c in self.columns))
        if self.on_registered is None:
            await conn.execute(upsert, *args)
            return []
        # Which were registered before, and the upsert, in one round trip: every part of one
        # statement reads the same snapshot, so `known` sees the table as it was before the insert.
        known = {r["id"] for r in await conn.fetch(
            f"""with known as (select id from "{self.table}" where id = any($1::uuid[]) and registered),
                     upserted as ({upsert})
                select id from known""",
            *args,
        )}
        first, seen = [], known
        for e in registered:
            if e.business_id not in seen:
                seen.add(e.business_id)
                first.append(e)
        return first

    async def _change_details(self, details: list[tuple[EventContext, BusinessDetailsChanged]]) -> None:
        for ctx, event in details:
            kept = [f for f in DETAIL_FIELDS if f in self.columns and getattr(event, f) is not None]
            if not kept:
                continue
            conn = ctx.conn
            before = await conn.fetchrow(f'select erased_at, {", ".join(kept)} from "{self.table}" where id = $1 and registered for update',
                                        event.business_id)
            if before is None:
                continue  # not registered here (unknown, or a tombstone): its registration brings its facts
            # An erased business keeps its blanks, as a registration arriving after the erasure does.
            kept = [f for f in kept if not (before["erased_at"] is not None and f in self.erasure.blank)]
            changed = [f for f in kept if before[f] != getattr(event, f)]
            if not changed:
                continue
            sets = "".join(f"{f} = ${i + 2}::{FIELDS[f].sql_type}, " for i, f in enumerate(changed))
            await conn.execute(f'update "{self.table}" set {sets}updated_at = now() where id = $1', event.business_id,
                               *(getattr(event, f) for f in changed))
            if self.on_details_changed is not None:
                await self.on_details_changed(ctx, event, {f: before[f] for f in changed})

    async def _change_stages(self, conn: asyncpg.Connection, changes: list[tuple[EventContext, BusinessStageChanged]]) -> None:
        # The stages and the history in one statement (one round trip): the two parts touch
        # different tables, so reading one snapshot changes nothing.
        parts: list[str] = []
        args: list[Any] = []
        if "stage" in self.columns:
            latest = {event.business_id: event.to_stage.value for _, event in changes}  # the last change of each business wins
            ids = sorted(latest)
            parts.append(
                f"""update "{self.table}" b set stage = c.stage, updated_at = now()
                    from unnest($1::uuid[], $2::text[]) as c(id, stage) where b.id = c.id"""
            )
            args += [ids, [latest[i] for i in ids]]
        if self.stage_history:
            # Each change takes the next position of its business: after those stored, in log order.
            nth: Counter[UUID] = Counter()
            rows = []
            for ctx, event in changes:
                nth[event.business_id] += 1
                rows.append((event.business_id, nth[event.business_id], event.from_stage.value, event.to_stage.value,
                             event.changed_on, ctx.envelope.id))
            p = len(args)
            parts.append(
                f"""insert into "{self.history_table}" (business_id, position, from_stage, to_stage, changed_on, event_id)
                    select c.business_id, coalesce((select max(position) from "{self.history_table}" h where h.business_id = c.business_id), 0) + c.nth,
                           c.from_stage, c.to_stage, c.changed_on, c.event_id
                    from unnest(${p + 1}::uuid[], ${p + 2}::int[], ${p + 3}::text[], ${p + 4}::text[], ${p + 5}::date[], ${p + 6}::uuid[])
                         as c(business_id, nth, from_stage, to_stage, changed_on, event_id)"""
            )
            args += map(list, zip(*rows))
        if len(parts) == 2:
            await conn.execute(f"with staged as ({parts[0]}) {parts[1]}", *args)
        elif parts:
            await conn.execute(parts[0], *args)
        if self.on_stage_changed is not None:
            for ctx, event in changes:
                await self.on_stage_changed(ctx, event)

    async def _erase(self, conn: asyncpg.Connection, erasures: list[tuple[EventContext, BusinessErased]]) -> None:
        first: dict[UUID, Any] = {}
        for _, event in erasures:
            first.setdefault(event.business_id, event.erased_at)  # erased twice: the first time stands, as one by one
        ids = sorted(first)  # id order, as registrations
        if self.before_erased is not None:
            await self.before_erased(conn, ids)
        cols = ", ".join(self.columns)
        tombstone = {c: self.erasure.blank.get(c, FIELDS[c].placeholder) for c in self.columns}
        values = ", ".join(f"${i + 3}::{FIELDS[c].sql_type}" for i, c in enumerate(self.columns))
        sets = "".join(f"{c} = ${self.columns.index(c) + 3}::{FIELDS[c].sql_type}, " for c in self.erasure.blank)
        await conn.execute(
            f"""insert into "{self.table}" (id, {cols}, registered, erased_at)
                select c.id, {values}, false, c.erased_at from unnest($1::uuid[], $2::timestamptz[]) as c(id, erased_at)
                on conflict (id) do update set {sets}erased_at = coalesce("{self.table}".erased_at, excluded.erased_at), updated_at = now()""",
            ids, [first[i] for i in ids], *tombstone.values(),
        )
        if self.on_erased is not None:
            for ctx, event in erasures:
                await self.on_erased(ctx, event)
