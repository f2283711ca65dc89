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
