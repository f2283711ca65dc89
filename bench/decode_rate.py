"""How much CPU decoding a consumed record costs: `decode_records` (CloudEvents headers,
hostile-input checks, the contract's pydantic model) over visits' handlers, in this process,
no servers.

    .venv/bin/python bench/decode_rate.py [--events 6000] [--profile]

The records are intake's events as `bench/consumer_pipeline.py` publishes them (registered,
two stage changes per business). Prints µs per event with the garbage collector as a
service runs it (`tune_gc`) and as Python starts it, then each step on its own; `--profile` adds cProfile's top frames.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
from datetime import datetime

from aiokafka.structs import ConsumerRecord

from _log import TOPIC, events_for


def records(events: int) -> list[ConsumerRecord]:
    from sangsaeng_common.envelope import Envelope

    out = []
    for offset, event in enumerate(events_for(events // 3)):
        envelope = Envelope.wrap(event)
        out.append(ConsumerRecord(TOPIC, 0, offset, 0, 0, envelope.key, envelope.data, None, len(envelope.key), len(envelope.data),
                                  tuple(envelope.kafka_headers())))
    return out


def per_event_us(batch: list[ConsumerRecord], rounds: int = 5) -> float:
    from sangsaeng_common.decoding import decode_records
    from visits.bootstrap import build

    [handlers] = build().consumers  # visits' one consumer

    def once() -> None:
        for start in range(0, len(batch), 500):  # polls of the consumer's size
            decode_records(handlers, batch[start:start + 500])

    once()  # warm up
    started = time.perf_counter()
    for _ in range(rounds):
        once()
    return (time.perf_counter() - started) / rounds / len(batch) * 1e6


def steps(batch: list[ConsumerRecord], rounds: int = 5) -> None:
    """µs per event of each step of decoding on its own, the same records (what each costs)."""
    from uuid import UUID

    from sangsaeng_common.contracts import REGISTRY
    from sangsaeng_common.envelope import Envelope, _plainly_storable

    envelopes = [Envelope.from_kafka(r.headers, r.value) for r in batch]
    headers = [{k: v.decode() for k, v in r.headers} for r in batch]
    events = [e.decode(r.topic) for e, r in zip(envelopes, batch)]
    timed = {
        "headers: bytes -> str dict": lambda: [{k: v.decode() for k, v in r.headers} for r in batch],
        "headers: Envelope.from_headers (incl. the two below)": lambda: [Envelope.from_headers(h, b"") for h in headers],
        "  ce_id -> UUID": lambda: [UUID(h["ce_id"]) for h in headers],
        "  ce_time -> datetime": lambda: [datetime.fromisoformat(h["ce_time"]) for h in headers],
        "hostile-input scan of the bytes (_plainly_storable)": lambda: [_plainly_storable(e.data) for e in envelopes],
        "pydantic model_validate_json": lambda: [REGISTRY[e.type].model_validate_json(e.data) for e in envelopes],
        "subject check (str of the business id)": lambda: [ev.subject() == e.subject for ev, e in zip(events, envelopes)],
        "Envelope.decode whole (type checks, scan, pydantic, subject)": lambda: [e.decode(r.topic) for e, r in zip(envelopes, batch)],
    }
    for name, step in timed.items():
        step()
        started = time.perf_counter()
        for _ in range(rounds):
            step()
        print(f"  {(time.perf_counter() - started) / rounds / len(batch) * 1e6:6.2f} µs/event  {name}")


def main(events: int, profile: bool) -> None:
    from sangsaeng_common.process import tune_gc

    batch = records(events)
    print(f"{len(batch):,} records, Python's default collector: {per_event_us(batch):.1f} µs/event")
    tune_gc()
    print(f"{len(batch):,} records, as a service runs (tune_gc): {per_event_us(batch):.1f} µs/event")
    steps(batch)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        per_event_us(batch, rounds=2)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    gc.unfreeze()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    main(args.events, args.profile)
