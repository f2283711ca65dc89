"""The embedded broker: starts fast, speaks Kafka, can be paused, resumed and replaced."""

from __future__ import annotations

import time

import pytest

from sangsaeng_devstack.broker import (
    Broker,
    BrokerControlUnavailable,
    ExternalBroker,
    broker_from_env_or_start,
    kafka_metadata_ok,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def broker():
    with Broker() as b:
        yield b


def test_starts_on_a_free_port_and_answers_metadata(broker: Broker) -> None:
    host, port = broker.bootstrap_servers.split(":")
    assert host == "127.0.0.1" and int(port) == broker.port
    assert broker.running
    assert kafka_metadata_ok(host, broker.port)
    assert broker.startup_seconds is not None and broker.startup_seconds < 5


def test_stop_leaves_no_process() -> None:
    b = Broker().start()
    pid, port = b.pid, b.port
    b.stop()
    assert not b.running
    assert not kafka_metadata_ok("127.0.0.1", port, timeout=0.3)
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)


async def _produce_consume(bootstrap: str, topic: str, value: bytes) -> list[bytes]:
    aiokafka = pytest.importorskip("aiokafka")
    producer = aiokafka.AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k", headers=[("h", b"1")])
    finally:
        await producer.stop()
    consumer = aiokafka.AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=5000, max_records=10)
        return [m.value for records in batch.values() for m in records]
    finally:
        await consumer.stop()


async def test_produce_and_consume(broker: Broker) -> None:
    assert await _produce_consume(broker.bootstrap_servers, "devstack.t1", b"hello") == [b"hello"]


async def test_pause_resume(broker: Broker) -> None:
    broker.pause()
    assert broker.paused
    assert not kafka_metadata_ok("127.0.0.1", broker.port, timeout=0.3)
    broker.resume()
    assert not broker.paused
    assert kafka_metadata_ok("127.0.0.1", broker.port)
    assert await _produce_consume(broker.bootstrap_servers, "devstack.t2", b"after") == [b"after"]


async def test_restart_empty_keeps_port_and_forgets_everything(broker: Broker) -> None:
    await _produce_consume(broker.bootstrap_servers, "devstack.t3", b"old")
    old_pid, port = broker.pid, broker.port
    started = time.monotonic()
    broker.restart_empty()
    assert time.monotonic() - started < 5
    assert broker.port == port and broker.pid != old_pid
    assert await _produce_consume(broker.bootstrap_servers, "devstack.t3", b"new") == [b"new"]


def test_restart_empty_while_paused(broker: Broker) -> None:
    broker.pause()
    broker.restart_empty()
    assert not broker.paused
    assert kafka_metadata_ok("127.0.0.1", broker.port)


def test_external_broker_cannot_be_controlled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9092")
    b = broker_from_env_or_start()
    assert isinstance(b, ExternalBroker) and not b.controllable
    assert b.bootstrap_servers == "kafka.example:9092"
    for action in (b.pause, b.resume, b.restart_empty):
        with pytest.raises(BrokerControlUnavailable, match="KAFKA_BOOTSTRAP_SERVERS"):
            action()
    b.stop()  # a no-op


def test_from_env_starts_one_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    b = broker_from_env_or_start()
    try:
        assert isinstance(b, Broker) and b.controllable and b.running
    finally:
        b.stop()


def test_given_port_that_is_taken_fails_clearly(broker: Broker) -> None:
    # Tansu itself would bind it too (SO_REUSEPORT) and share the connections.
    with pytest.raises(RuntimeError, match="in use"):
        Broker(broker.port, startup_timeout=3).start()
    assert kafka_metadata_ok("127.0.0.1", broker.port)  # the first one is unharmed
