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


def _resting_consumer(monkeypatch):
    import types

    from sangsaeng_common import consumer as consumer_module
    from sangsaeng_common.consumer import EventConsumer

    clock = _Clock()
    monkeypatch.setattr(consumer_module.time, "monotonic", clock)
    events = EventConsumer.__new__(EventConsumer)
    events.fetch_max_wait_ms, events.idle_fetch_max_wait_ms, events.idle_after_s, events._records_at = 25, 1000, 10.0, None
    kafka = types.SimpleNamespace(_fetcher=types.SimpleNamespace(_fetch_max_wait_ms=25))
    return events, kafka, clock


def test_a_consumer_rests_only_after_a_quiet_spell_and_wakes_with_the_first_records(monkeypatch):
    events, kafka, clock = _resting_consumer(monkeypatch)
    events._rest_when_idle(kafka, found_records=False)  # just started: the short wait
    assert kafka._fetcher._fetch_max_wait_ms == 25
    clock.now += 9.5  # a pause shorter than idle_after_s keeps it
    events._rest_when_idle(kafka, found_records=False)
    assert kafka._fetcher._fetch_max_wait_ms == 25
    clock.now += 0.5
    events._rest_when_idle(kafka, found_records=False)
    assert kafka._fetcher._fetch_max_wait_ms == 1000
    events._rest_when_idle(kafka, found_records=True)
    assert kafka._fetcher._fetch_max_wait_ms == 25
    clock.now += 5
    events._rest_when_idle(kafka, found_records=False)
    assert kafka._fetcher._fetch_max_wait_ms == 25


def test_aiokafkas_fetcher_still_builds_each_fetch_request_from_the_attribute_set():
    # The consumer sets a private attribute (aiokafka has no setter): an upgrade that renamed it
    # would silently leave every consumer on the short wait.
    import inspect

    from aiokafka.consumer.fetcher import Fetcher

    assert "self._fetch_max_wait_ms," in inspect.getsource(Fetcher._get_actions_per_node)
