"""Republishing into a refilled broker: a batch the broker refuses is sent again (in order, whole),
a bounded number of times, then the error is raised — never skipped."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaError, UnknownError

from sangsaeng_common import outbox


class Broker:
    """A producer whose first `refusals` sends fail the way Tansu refuses a produce to a topic just created."""

    def __init__(self, refusals: int):
        self.refusals = refusals
        self.sent: list[str] = []

    async def send(self, topic, key, value, headers):
        future = asyncio.get_running_loop().create_future()
        if self.refusals:
            self.refusals -= 1
            future.set_exception(UnknownError())
        else:
            self.sent.append(key.decode())
            future.set_result(None)
        return future


REAL_SLEEP = asyncio.sleep
ROWS = [{"topic": "t", "key": k, "headers": {}, "payload": b"{}"} for k in ("a", "b", "c")]


async def test_a_refused_batch_is_sent_again_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox.asyncio, "sleep", lambda _s: REAL_SLEEP(0))
    broker = Broker(refusals=2)
    await outbox._send_retrying(broker, ROWS)
    assert broker.sent == ["c", "a", "b", "c"]  # the first try delivered only c; then the whole batch again, in order


async def test_a_broker_that_keeps_refusing_fails_the_republish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox.asyncio, "sleep", lambda _s: REAL_SLEEP(0))
    broker = Broker(refusals=10_000)
    with pytest.raises(KafkaError):
        await outbox._send_retrying(broker, ROWS)
    assert broker.refusals == 10_000 - outbox.REPUBLISH_SEND_ATTEMPTS * len(ROWS)
