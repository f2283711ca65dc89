"""The replay's one loop over any event source: polls applied one after the other, in order,
the next decoded while the one before applies; a source failing midway stops it cleanly
(no servers: a fake source, the apply step recorded)."""

import asyncio

import pytest

from sangsaeng_common import replay
from sangsaeng_common.handlers import Handlers


class _Source:
    def __init__(self, polls, fail_after: int | None = None):
        self._polls, self.fail_after, self.closed = polls, fail_after, False

    async def polls(self, handlers):
        try:
            for n, poll in enumerate(self._polls):
                if self.fail_after is not None and n == self.fail_after:
                    raise RuntimeError("the source broke")
                yield poll
        finally:
            self.closed = True


@pytest.fixture
def applied(monkeypatch):
    log: list = []
    running = {"now": 0}

    async def apply(pool, handlers, batches):
        running["now"] += 1
        assert running["now"] == 1, "two polls applied at once"
        await asyncio.sleep(0.01)
        log.append(batches)
        running["now"] -= 1

    monkeypatch.setattr(replay, "_apply_partitions", apply)
    monkeypatch.setattr(replay, "_decode", lambda handlers, records, until, subject: list(records))
    return log


async def test_polls_are_applied_in_order_one_at_a_time_and_progress_counts_events(applied):
    source = _Source([(5, [["a1", "a2"], ["b1"]]), (5, [["a3"]]), (5, [])])
    progress: list = []
    count = await replay._replay_consumer(None, source, Handlers("x"), None, None, lambda d, k: progress.append((d, k)), 10)
    assert count == 4
    assert applied == [[["a1", "a2"], ["b1"]], [["a3"]], []]
    assert progress == [(13, 15), (14, 15), (14, 15)]
    assert source.closed


async def test_a_source_failing_midway_raises_cancels_the_poll_in_hand_and_closes(applied):
    source = _Source([(2, [["a1"]]), (2, [["a2"]])], fail_after=1)
    with pytest.raises(RuntimeError, match="the source broke"):
        await replay._replay_consumer(None, source, Handlers("x"), None, None, None, 0)
    assert source.closed
    await asyncio.sleep(0.05)
    assert applied == []  # the poll in hand was cancelled, not left running after the failure
