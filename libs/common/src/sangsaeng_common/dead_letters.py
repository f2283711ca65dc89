"""Dead letters: a record that can never be applied (poison, or a handler failing for good)
goes to `sangsaeng.<consumer>.dlq` as it came, with its reason and origin in headers, and
into the consumer's `dead_letters` table, so that operators can work them without scanning
Kafka: list, show, redrive (through the consumer's own path: the inbox guarantees no
second effect) and discard (with a reason, recorded as `DeadLetterDiscarded`).

Per-key order under a dead letter. A handler's failure on a well-formed event *parks its
key* for that consumer: while the dead letter is open, the key's later events are not
applied but kept as `parked` rows (no inbox row, no effect), in the transaction that would
have applied them. Redriving the dead letter applies it and then its parked followers, in
their order on the partition; discarding it applies the parked followers. If one of them
fails in turn, it becomes the key's dead letter and the rest stay parked behind it. So no
event ever takes effect before an earlier event of its business, and a redrive never
applies an old event over a newer state. Other keys never wait. Poison (undecodable,
forged, schema-invalid) parks nothing: nothing vouches for its key, and hostile records
must not be able to stall a business.

A redrive is one pass over what was selected: a record that is still poison, or whose
handler still fails, goes back to the DLQ once with its attempt count (`dlq_attempt`)
and stays in the table as `dead` until the next redrive an operator asks for. Nothing
redrives by itself, so nothing loops.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from sangsaeng_common import metrics, outbox
from sangsaeng_common.errors import Conflict, NotFound
from sangsaeng_common.kafka import KafkaOptions, make_producer
from sangsaeng_common.logging import get_logger
from sangsaeng_common.retry import Backoff

log = get_logger(__name__)

Origin = tuple[str, int, int]  # topic, partition, offset
OPEN = ("dead", "parked")
PARKED_REASON = "parked"


def dead_letter_headers(record: ConsumerRecord, reason: str, detail: str, consumer: str, attempt: int = 1) -> list[tuple[str, bytes]]:
    """The record's own headers, then why it is dead and where it came from."""
    return list(record.headers or ()) + [
        ("dlq_reason", reason.encode()),
        ("dlq_error", detail[:4000].encode()),
        ("dlq_consumer", consumer.encode()),
        ("dlq_origin_topic", record.topic.encode()),
        ("dlq_origin_partition", str(record.partition).encode()),
        ("dlq_origin_offset", str(record.offset).encode()),
        ("dlq_time", datetime.now(UTC).isoformat().encode()),
        ("dlq_attempt", str(attempt).encode()),
    ]


class DeadLetters:
    """The producer of one consumer's dead-letter topic."""

    def __init__(self, kafka: KafkaOptions, consumer: str, topic: str):
        self.consumer, self.topic = consumer, topic
        self._producer = make_producer(kafka, f"{consumer}-dlq")

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, dead: list, backoff: Backoff, give_up: Callable[[], bool], attempts: list[int] | None = None) -> None:
        """Each record, until the broker takes it: a broker fault is retried with backoff
        unless `give_up()` says to stop, then it is raised (the record not yet sent)."""
        for i, (record, reason, detail) in enumerate(dead):
            headers = dead_letter_headers(record, reason, detail, self.consumer, attempts[i] if attempts else 1)
            while True:
                try:
                    await (await self._producer.send(self.topic, key=record.key, value=record.value, headers=headers))
                    break
                except KafkaError:
                    if give_up():
                        raise
                    await asyncio.sleep(backoff.next())
            metrics.DEAD_LETTERS.labels(self.consumer, reason).inc()
            log.warning("dead-lettered", reason=reason, detail=detail[:300], topic=record.topic, partition=record.partition, offset=record.offset)


# ---------------------------------------------------------------- the consumer's side


def _text(value: str | None) -> str | None:
    """PostgreSQL text holds no NUL: a hostile header or detail must not stop the consumer."""
    return None if value is None else value.replace("\x00", "\\x00")


def _header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            try:
                return value.decode()
            except (UnicodeDecodeError, AttributeError):
                return None
    return None


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def _row_args(consumer: str, record: ConsumerRecord, status: str, reason: str, error: str, parks_key: bool,
              event_id: UUID | None, event_type: str | None, attempts: int) -> tuple:
    headers = list(record.headers or ())
    return (consumer, status, _text(reason), _text(error[:4000]), parks_key, record.topic, record.partition, record.offset,
            record.timestamp, record.key, record.value, [_text(k) for k, _ in headers], [v or b"" for _, v in headers],
            event_id, _text(event_type), attempts)


_INSERT = """insert into dead_letters (consumer, status, reason, error, parks_key, topic, kafka_partition, kafka_offset,
                                      kafka_timestamp, record_key, record_value, header_keys, header_values,
                                      event_id, event_type, attempts)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             on conflict (consumer, topic, kafka_partition, kafka_offset) do nothing"""


async def record_poison(conn: asyncpg.Connection, consumer: str, poison: list) -> None:
    """Poison records, in the batch's transaction (a redelivered one finds its row)."""
    await conn.executemany(_INSERT, [
        _row_args(consumer, record, "dead", reason, detail, False, _uuid(_header(record, "ce_id")), _header(record, "ce_type"), 1)
        for record, reason, detail in poison
    ])


async def record_failed_and_parked(conn: asyncpg.Connection, consumer: str, failed: list, parked: list) -> None:
    """Events whose handler failed for good (each parks its key) and events parked behind an
    open dead letter of their key, in the transaction that would have applied them."""
    await conn.executemany(_INSERT, [
        *(_row_args(consumer, d.record, "dead", reason, detail, d.record.key is not None, d.envelope.id, d.envelope.type, 1)
          for d, reason, detail in failed),
        *(_row_args(consumer, d.record, "parked", PARKED_REASON, "", True, d.envelope.id, d.envelope.type, 0) for d in parked),
    ])


@dataclass
class Blocking:
    """The keys of a batch that an open dead letter holds, for one consumer."""

    keys: set[bytes] = field(default_factory=set)
    dead: dict[Origin, str] = field(default_factory=dict)  # origin -> error, of the open dead letters among them
    parks: bool = True  # False in a replay: a failure there holds back none of its key's later events

    def __bool__(self) -> bool:
        return bool(self.keys)

    def holds(self, key: bytes | None) -> bool:
        return key is not None and key in self.keys

    def block(self, key: bytes | None) -> None:
        if key is not None and self.parks:
            self.keys.add(key)

    def split(self, batch: list) -> tuple[list, list]:
        held, rest = [], []
        for item in batch:
            (held if self.holds(item.record.key) else rest).append(item)
        return held, rest

    def is_dead_letter(self, item: Any) -> bool:
        return _origin(item.record) in self.dead

    def error_of(self, item: Any) -> str:
        return self.dead.get(_origin(item.record), "")


def _origin(record: ConsumerRecord) -> Origin:
    return record.topic, record.partition, record.offset


async def open_for_keys(conn: asyncpg.Connection, consumer: str, batch: list) -> Blocking:
    """Which of the batch's keys an open dead letter holds (one indexed query per batch;
    none in the common case).

    LOCKING: a redrive or a discard in another process takes the key's open rows FOR
    UPDATE, applies them and marks them, then applies the parked rows it finds. Taking the
    same rows FOR SHARE here makes a batch that meets a key being redriven wait for that
    redrive to commit; PostgreSQL then re-reads the rows, finds the dead letter resolved,
    and the event is applied in place, after the redriven ones. A batch that parks an event
    first makes the redrive wait instead, and its query for the parked rows (a statement
    after the lock) sees the new one. Either way the key's events take effect in order, and
    no event is parked behind a dead letter that is already gone. Both sides lock in `id`
    order, so they cannot deadlock each other on one key (a deadlock across keys would be
    a transient fault, retried)."""
    keys = list({item.record.key for item in batch if item.record.key is not None})
    if not keys:
        return Blocking()
    rows = await conn.fetch(
        """select record_key, topic, kafka_partition, kafka_offset, status, error from dead_letters
           where consumer = $1 and status in ('dead', 'parked') and parks_key and record_key = any($2::bytea[])
           order by id for share""",
        consumer, keys,
    )
    blocking = Blocking()
    for r in rows:
        blocking.keys.add(r["record_key"])
        if r["status"] == "dead":
            blocking.dead[r["topic"], r["kafka_partition"], r["kafka_offset"]] = r["error"]
    return blocking


# ---------------------------------------------------------------- the operators' side


_COLUMNS = """id, consumer, status, reason, error, parks_key, topic, kafka_partition, kafka_offset, kafka_timestamp,
              record_key, record_value, header_keys, header_values, event_id, event_type, attempts, first_seen,
              last_seen, resolved_at, resolved_by, discard_reason, discard_note"""


def _key_text(key: bytes | None) -> str | None:
    if key is None:
        return None
    return key.decode("utf-8", "replace")


def _value_text(value: bytes | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace")


def summary_row(r: asyncpg.Record) -> dict[str, Any]:
    return {"id": r["id"], "consumer": r["consumer"], "status": r["status"], "reason": r["reason"],
            "origin": {"topic": r["topic"], "partition": r["kafka_partition"], "offset": r["kafka_offset"]},
            "key": _key_text(r["record_key"]), "event_id": str(r["event_id"]) if r["event_id"] else None,
            "event_type": r["event_type"], "attempts": r["attempts"], "first_seen": r["first_seen"].isoformat(),
            "last_seen": r["last_seen"].isoformat(), "resolved_at": r["resolved_at"].isoformat() if r["resolved_at"] else None,
            "resolved_by": r["resolved_by"], "discard_reason": r["discard_reason"]}


def detail_row(r: asyncpg.Record) -> dict[str, Any]:
    return {**summary_row(r), "error": r["error"], "parks_key": r["parks_key"], "kafka_timestamp": r["kafka_timestamp"],
            "headers": [{"key": k, "value": v.decode("utf-8", "replace")} for k, v in zip(r["header_keys"], r["header_values"], strict=True)],
            "value": _value_text(r["record_value"]), "value_bytes": len(r["record_value"] or b""),
            "discard_note": r["discard_note"]}


async def groups(conn: asyncpg.Connection, consumers: list[str]) -> list[dict[str, Any]]:
    """The open dead letters by consumer and reason: how many, first and last seen."""
    rows = await conn.fetch(
        """select consumer, reason, status, count(*) as count, min(first_seen) as first_seen, max(last_seen) as last_seen
           from dead_letters where consumer = any($1::text[]) and status in ('dead', 'parked')
           group by consumer, reason, status order by consumer, reason, status""",
        consumers,
    )
    return [{"consumer": r["consumer"], "reason": r["reason"], "status": r["status"], "count": r["count"],
             "first_seen": r["first_seen"].isoformat(), "last_seen": r["last_seen"].isoformat()} for r in rows]


async def listing(conn: asyncpg.Connection, consumers: list[str], *, reason: str | None = None, status: str = "open",
                  after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    statuses = list(OPEN) if status == "open" else ["dead", "parked", "redriven", "discarded"] if status == "all" else [status]
    rows = await conn.fetch(
        f"""select {_COLUMNS} from dead_letters
            where consumer = any($1::text[]) and status = any($2::text[]) and ($3::text is null or reason = $3) and id > $4
            order by id limit $5""",
        consumers, statuses, reason, after, limit,
    )
    return [summary_row(r) for r in rows]


async def show(conn: asyncpg.Connection, consumers: list[str], dead_letter_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(f"select {_COLUMNS} from dead_letters where id = $1 and consumer = any($2::text[])", dead_letter_id, consumers)
    if row is None:
        raise NotFound("No such dead letter", f"no dead letter {dead_letter_id}")
    return detail_row(row)


async def refresh_gauge(conn: asyncpg.Connection, consumers: list[str]) -> None:
    """Set the open-dead-letters gauge from the table (the truth across replicas)."""
    rows = await conn.fetch(
        """select consumer, reason, count(*) as n from dead_letters
           where consumer = any($1::text[]) and status in ('dead', 'parked') group by consumer, reason""",
        consumers,
    )
    seen = {(r["consumer"], r["reason"]): r["n"] for r in rows}
    for labels in _gauge_labels - seen.keys():
        metrics.DEAD_LETTERS_OPEN.labels(*labels).set(0)
    for labels, n in seen.items():
        metrics.DEAD_LETTERS_OPEN.labels(*labels).set(n)
    _gauge_labels.update(seen)


_gauge_labels: set[tuple[str, str]] = set()


def record_of(r: asyncpg.Record) -> ConsumerRecord:
    """The Kafka record as the consumer read it, from its row."""
    value, key = r["record_value"], r["record_key"]
    return ConsumerRecord(
        topic=r["topic"], partition=r["kafka_partition"], offset=r["kafka_offset"], timestamp=r["kafka_timestamp"] or 0,
        timestamp_type=0, key=key, value=value, checksum=None, serialized_key_size=len(key or b""),
        serialized_value_size=len(value or b""), headers=tuple(zip(r["header_keys"], r["header_values"], strict=True)),
    )


@dataclass
class DriveReport:
    consumer: str
    selected: int = 0  # dead letters asked for
    redriven: int = 0  # applied now, or found applied already (the inbox had them)
    released: int = 0  # parked events applied after their dead letter
    dead_again: int = 0  # still poison, or their handler still failing: back to the DLQ once
    still_parked: int = 0  # behind a dead letter that stays
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"consumer": self.consumer, "selected": self.selected, "redriven": self.redriven, "released": self.released,
                "dead_again": self.dead_again, "still_parked": self.still_parked, "seconds": round(self.seconds, 3)}


async def _lock_open(conn: asyncpg.Connection, consumer: str, ids: list[int], keys: list[bytes]) -> list[asyncpg.Record]:
    """The given rows and every open row that parks one of the keys, FOR UPDATE in `id`
    order (see open_for_keys on LOCKING)."""
    return await conn.fetch(
        # Two indexed look-ups joined by id: an OR of both in one WHERE scans the whole table.
        f"""select {_COLUMNS} from dead_letters
            where consumer = $1 and status in ('dead', 'parked')
              and id in (select id from dead_letters where id = any($2::bigint[])
                         union all
                         select id from dead_letters
                         where consumer = $1 and status in ('dead', 'parked') and parks_key and record_key = any($3::bytea[]))
            order by id for update""",
        consumer, ids, keys,
    )


def _chains(locked: list[asyncpg.Record], wanted: set[int]) -> list[list[asyncpg.Record]]:
    """What to apply, in order: for each parked key whose earliest open row is wanted, its
    open rows in partition order; each wanted row that parks nothing, alone."""
    by_key: dict[bytes, list[asyncpg.Record]] = defaultdict(list)
    chains: list[list[asyncpg.Record]] = []
    for r in locked:
        if r["parks_key"] and r["record_key"] is not None:
            by_key[r["record_key"]].append(r)
        elif r["id"] in wanted:
            chains.append([r])
    for rows in by_key.values():
        rows.sort(key=lambda r: (r["topic"], r["kafka_partition"], r["kafka_offset"]))
        if rows[0]["id"] in wanted:
            chains.append(rows)
    return chains


async def _drive(conn: asyncpg.Connection, handlers: Any, chains: list[list[asyncpg.Record]], principal: str,
                 report: DriveReport) -> list[tuple[ConsumerRecord, str, str, int]]:
    """Apply the chains through the consumer's own path (decode, then the inbox
    transaction) inside the caller's transaction, and mark their rows; returns what goes
    back to the DLQ topic (record, reason, detail, attempt)."""
    from sangsaeng_common.decoding import decode_records
    from sangsaeng_common.inbox import apply_in_transaction

    consumer = handlers.consumer
    rows = [r for chain in chains for r in chain]
    by_origin = {(r["topic"], r["kafka_partition"], r["kafka_offset"]): r for r in rows}
    records = [record_of(r) for r in rows]
    decoded, poison = decode_records(handlers, records)
    poisoned = {_origin(record): (reason, detail) for record, reason, detail in poison}
    # A chain stops at its first record that is poison now: what follows stays parked.
    held_by_poison: set[Origin] = set()
    for chain in chains:
        hit = False
        for r in chain:
            origin = (r["topic"], r["kafka_partition"], r["kafka_offset"])
            if hit:
                held_by_poison.add(origin)
            hit = hit or (origin in poisoned and len(chain) > 1)
    decoded = [d for d in decoded if _origin(d.record) not in held_by_poison]
    outcome = await apply_in_transaction(conn, consumer, decoded, live=False)
    outcome.count(consumer)

    failed = {_origin(d.record): (reason, detail) for d, reason, detail in outcome.failed}
    parked = {_origin(d.record) for d in outcome.parked} | held_by_poison
    resolved: list[int] = []
    again: list[tuple[ConsumerRecord, str, str, int]] = []
    for origin, r in by_origin.items():
        if origin in parked:
            if r["status"] == "parked":
                report.still_parked += 1
            else:  # a dead letter held behind an earlier one of its key that failed again
                await conn.execute("update dead_letters set status = 'parked', reason = $2, last_seen = now() where id = $1", r["id"], PARKED_REASON)
                report.still_parked += 1
            continue
        problem = failed.get(origin) or poisoned.get(origin)
        if problem is not None:
            reason, detail = problem
            attempts = r["attempts"] + 1
            await conn.execute(
                """update dead_letters set status = 'dead', reason = $2, error = $3, attempts = $4, last_seen = now(),
                   parks_key = parks_key or ($5 and record_key is not null) where id = $1""",
                r["id"], _text(reason), _text(detail[:4000]), attempts, origin in failed,
            )
            again.append((record_of(r), reason, detail, attempts))
            report.dead_again += 1
            metrics.DEAD_LETTER_REDRIVES.labels(consumer, "dead_again").inc()
            continue
        resolved.append(r["id"])
        if r["status"] == "parked":
            report.released += 1
            metrics.DEAD_LETTER_REDRIVES.labels(consumer, "released").inc()
        else:
            report.redriven += 1
            metrics.DEAD_LETTER_REDRIVES.labels(consumer, "applied").inc()
    if resolved:
        await conn.execute(
            "update dead_letters set status = 'redriven', resolved_at = now(), resolved_by = $2, last_seen = now() where id = any($1::bigint[])",
            resolved, principal,
        )
    return again


async def _send_again(kafka: KafkaOptions | None, consumer: str, topic: str, again: list[tuple[ConsumerRecord, str, str, int]]) -> None:
    """Back to the DLQ topic, once each, with the attempt count."""
    if not again or kafka is None:
        return
    dlq = DeadLetters(kafka, consumer, topic)
    await dlq.start()
    try:
        stop_at = time.monotonic() + 30
        await dlq.send([(rec, reason, detail) for rec, reason, detail, _ in again], Backoff(0.2, 2.0),
                       give_up=lambda: time.monotonic() > stop_at, attempts=[attempt for *_, attempt in again])
    finally:
        await dlq.stop()


def _consumer_of(handlers_list: Iterable[Any], name: str) -> Any:
    for handlers in handlers_list:
        if handlers.consumer == name:
            return handlers
    raise NotFound("No such consumer", f"this service has no consumer {name!r}")


async def redrive(pool: asyncpg.Pool, handlers_list: list[Any], kafka: KafkaOptions | None, *, principal: str,
                  ids: list[int] | None = None, consumer: str | None = None, reason: str | None = None,
                  chunk: int = 500) -> list[DriveReport]:
    """Redrive dead letters: the given ids, or every open dead letter (of one consumer, of
    one reason). Each chunk of up to `chunk` dead letters goes in one transaction with the
    parked events behind them. One pass: what fails again is left `dead` for a later run."""
    reports = []
    for handlers in handlers_list:
        if consumer is not None and handlers.consumer != consumer:
            continue
        report = DriveReport(handlers.consumer)
        started = time.perf_counter()
        last = 0
        while True:
            async with pool.acquire() as conn:
                async with conn.transaction():
                    picked = await conn.fetch(
                        """select id, record_key, parks_key from dead_letters
                           where consumer = $1 and status = 'dead' and id > $2
                             and ($3::bigint[] is null or id = any($3::bigint[])) and ($4::text is null or reason = $4)
                           order by id limit $5""",
                        handlers.consumer, last, ids, reason, chunk,
                    )
                    if not picked:
                        break
                    last = picked[-1]["id"]
                    wanted = {r["id"] for r in picked}
                    keys = list({r["record_key"] for r in picked if r["parks_key"] and r["record_key"] is not None})
                    locked = await _lock_open(conn, handlers.consumer, list(wanted), keys)
                    wanted &= {r["id"] for r in locked if r["status"] == "dead"}  # another redrive may have taken some
                    report.selected += len(wanted)
                    again = await _drive(conn, handlers, _chains(locked, wanted), principal, report)
            await _send_again(kafka, handlers.consumer, handlers.dlq_topic, again)
        report.seconds = time.perf_counter() - started
        log.info("redrive done", **report.as_dict())
        reports.append(report)
    if ids is not None and not any(r.selected for r in reports):
        await _explain_missing(pool, [h.consumer for h in handlers_list], ids)
    return reports


async def _explain_missing(pool: asyncpg.Pool, consumers: list[str], ids: list[int]) -> None:
    async with pool.acquire() as conn:
        rows = await conn.fetch("select id, status from dead_letters where id = any($1::bigint[]) and consumer = any($2::text[])", ids, consumers)
    if not rows:
        raise NotFound("No such dead letter", f"no dead letter {', '.join(map(str, ids))}")
    statuses = ", ".join(f"{r['id']} is {r['status']}" for r in rows)
    raise Conflict("Nothing to redrive", f"{statuses}: only a dead letter can be redriven (a parked event follows its key's dead letter)")


async def discard(pool: asyncpg.Pool, handlers_list: list[Any], kafka: KafkaOptions | None, *, service: str, dead_letter_id: int,
                  reason: Any, note: str | None, principal: str) -> dict[str, Any]:
    """Give up one dead letter (or parked event) for good: marked `discarded`, and a
    `DeadLetterDiscarded` event in the same transaction (the ledger keeps it). The parked
    events it held are then applied, in order, as a redrive would."""
    from sangsaeng_common.contracts.operations import dead_letter_discarded

    consumers = [h.consumer for h in handlers_list]
    async with pool.acquire() as conn:
        async with conn.transaction():
            row = await conn.fetchrow("select consumer, record_key, parks_key from dead_letters where id = $1 and consumer = any($2::text[])",
                                      dead_letter_id, consumers)
            if row is None:
                raise NotFound("No such dead letter", f"no dead letter {dead_letter_id}")
            handlers = _consumer_of(handlers_list, row["consumer"])
            keys = [row["record_key"]] if row["parks_key"] and row["record_key"] is not None else []
            locked = await _lock_open(conn, handlers.consumer, [dead_letter_id], keys)
            target = next((r for r in locked if r["id"] == dead_letter_id), None)
            if target is None:
                raise Conflict("Not open", f"dead letter {dead_letter_id} is redriven or discarded already")
            await conn.execute(
                """update dead_letters set status = 'discarded', resolved_at = now(), resolved_by = $2, discard_reason = $3,
                   discard_note = $4, last_seen = now() where id = $1""",
                dead_letter_id, principal, str(reason), _text(note),
            )
            key = target["record_key"]
            event = dead_letter_discarded(service)(
                dead_letter_id=dead_letter_id, consumer=handlers.consumer, dead_letter_reason=target["reason"],
                origin_topic=target["topic"], origin_partition=target["kafka_partition"], origin_offset=target["kafka_offset"],
                event_id=target["event_id"], event_type=target["event_type"],
                business_id=_uuid(key.decode("utf-8", "replace")) if key else None, attempts=target["attempts"],
                discard_reason=reason, discarded_by=principal, discarded_at=datetime.now(UTC),
            )
            await outbox.add(conn, event)
            metrics.DEAD_LETTER_DISCARDS.labels(handlers.consumer, str(reason)).inc()
            report = DriveReport(handlers.consumer)
            rest = [r for r in locked if r["id"] != dead_letter_id]
            # The parked events it held go on, unless another dead letter of the key still holds them.
            rest.sort(key=lambda r: (r["topic"], r["kafka_partition"], r["kafka_offset"]))
            again = []
            if rest and rest[0]["status"] == "parked":
                again = await _drive(conn, handlers, [rest], principal, report)
            shown = detail_row(await conn.fetchrow(f"select {_COLUMNS} from dead_letters where id = $1", dead_letter_id))
    await _send_again(kafka, handlers.consumer, handlers.dlq_topic, again)
    return {**shown, "released": report.as_dict()}
