"""How a poll is split into transactions (no servers: which partitions share one)."""

from aiokafka import TopicPartition

from sangsaeng_common.consumer import transaction_units


def _poll(*sizes: int) -> list:
    return [(TopicPartition("sangsaeng.intake.events", p), [object()] * n, [], []) for p, n in enumerate(sizes)]


def _partitions(units: list) -> list[list[int]]:
    return [[tp.partition for tp, *_ in unit] for unit in units]


def test_a_poll_of_few_records_per_partition_is_one_transaction():
    assert _partitions(transaction_units(_poll(3, 1, 7, 2), own_transaction_from=50)) == [[0, 1, 2, 3]]


def test_each_long_run_gets_its_own_transaction_and_the_rest_share_one():
    assert _partitions(transaction_units(_poll(3, 60, 2, 50, 49), own_transaction_from=50)) == [[1], [3], [0, 2, 4]]


def test_a_poll_of_long_runs_only_has_no_empty_transaction():
    assert _partitions(transaction_units(_poll(500, 120), own_transaction_from=50)) == [[0], [1]]


def test_every_record_of_a_partition_stays_in_one_transaction_in_order():
    poll = _poll(3, 80, 5)
    units = transaction_units(poll, own_transaction_from=50)
    assert sorted(tp.partition for unit in units for tp, *_ in unit) == [0, 1, 2]  # each partition exactly once
    assert [records for unit in units for _, records, *_ in unit if len(records) == 80] == [poll[1][1]]


# ---------------------------------------------------------------- resting when idle


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Kafka:
    """What _rest uses of an AIOKafkaConsumer; a partition is taken away while it rests."""

    def __init__(self, assigned: set) -> None:
        self.assigned, self.paused, self.resumed = set(assigned), set(), set()

    def assignment(self) -> set:
        return set(self.assigned)

    def pause(self, *tps) -> None:
        self.paused |= set(tps)

    def resume(self, *tps) -> None:
        assert set(tps) <= self.assigned, "aiokafka refuses to resume a partition it no longer has"
        self.resumed |= set(tps)


def _events(monkeypatch, clock=None):
    from sangsaeng_common import consumer as consumer_module
    from sangsaeng_common.consumer import EventConsumer

    if clock is not None:
        monkeypatch.setattr(consumer_module.time, "monotonic", clock)
    events = EventConsumer.__new__(EventConsumer)
    events.idle_rest_s, events.idle_after_s, events._records_at, events._stopping = 0.01, 10.0, None, False
    return events


def test_a_consumer_rests_only_after_a_quiet_spell_and_stops_resting_with_the_first_records(monkeypatch):
    clock = _Clock()
    events = _events(monkeypatch, clock)
    assert not events._resting(found_records=False)  # just started
    clock.now += 9.5  # a pause shorter than idle_after_s
    assert not events._resting(found_records=False)
    clock.now += 0.5
    assert events._resting(found_records=False)
    assert not events._resting(found_records=True)
    clock.now += 5
    assert not events._resting(found_records=False)
    events.idle_rest_s = None  # resting switched off
    clock.now += 60
    assert not events._resting(found_records=False)


async def test_a_rest_pauses_every_partition_and_resumes_those_still_assigned(monkeypatch):
    from aiokafka import TopicPartition

    events = _events(monkeypatch)
    tps = {TopicPartition("sangsaeng.intake.events", p) for p in range(3)}
    kafka = _Kafka(tps)
    taken = TopicPartition("sangsaeng.intake.events", 2)

    async def rebalance_meanwhile():
        kafka.assigned.discard(taken)

    import asyncio

    await asyncio.gather(events._rest(kafka), rebalance_meanwhile())
    assert kafka.paused == tps
    assert kafka.resumed == tps - {taken}
