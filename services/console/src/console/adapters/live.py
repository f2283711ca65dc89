"""Live updates: the console listens to every service's events topic (no group commits, from the end)
and tells the open pages of a business that something happened to it. It keeps nothing."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict

import structlog
from aiokafka import AIOKafkaConsumer

from sangsaeng_common.kafka import KafkaOptions

log = structlog.get_logger("console.live")
TOPICS = r"^sangsaeng\.[a-z]+\.events$"
# One group per console process (each must see every event); offsets are never committed.
GROUP_PREFIX = "sangsaeng.console.live."


class LiveEvents:
    def __init__(self, kafka: KafkaOptions):
        self.kafka = kafka
        self.listeners: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._task: asyncio.Task | None = None
        self.connected = False
        self._listened = asyncio.Event()  # some page is open
        self._consumer: AIOKafkaConsumer | None = None

    def subscribe(self, subject: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=100)
        self.listeners[subject].add(queue)
        self._listened.set()
        return queue

    def unsubscribe(self, subject: str, queue: asyncio.Queue) -> None:
        self.listeners[subject].discard(queue)
        if not self.listeners[subject]:
            self.listeners.pop(subject, None)
        if not self.listeners:
            self._listened.clear()

    def publish(self, subject: str, event: dict[str, str]) -> None:
        for queue in list(self.listeners.get(subject, ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="console-live-events")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _rest(self, consumer: AIOKafkaConsumer) -> None:
        """No page open: nobody to tell, so stop fetching (each fetch of every events topic costs
        the development broker CPU the whole time it is held) until a page subscribes; then
        listen from the end again, as a fresh start does."""
        while not self.listeners:
            consumer.pause(*consumer.assignment())  # a rebalance meanwhile hands out unpaused partitions
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listened.wait(), 1.0)
        listening = consumer.paused() & consumer.assignment()
        consumer.resume(*listening)
        if listening:
            await consumer.seek_to_end(*listening)

    def _tell(self, record) -> None:
        headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
        subject = headers.get("ce_subject") or (record.key.decode(errors="replace") if record.key else "")
        if subject:
            self.publish(subject, {"id": headers.get("ce_id", ""), "type": headers.get("ce_type", "")})

    async def _run(self) -> None:
        delay = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                **self.kafka.client_kwargs(), group_id=f"{GROUP_PREFIX}{uuid.uuid4().hex[:8]}",
                # A pattern finds a new topic when metadata is refreshed: every 10 s, as the services'
                # pattern consumers do (a metadata request over every topic every 3 s was a good part
                # of what an idle broker did for the console).
                enable_auto_commit=False, auto_offset_reset="latest", metadata_max_age_ms=10_000,
            )
            try:
                await consumer.start()
                consumer.subscribe(pattern=TOPICS)
                self._consumer = consumer
                self.connected = True
                delay = 0.5
                while True:
                    if not self.listeners:
                        await self._rest(consumer)
                    batches = await consumer.getmany(timeout_ms=500)
                    for record in (r for records in batches.values() for r in records):
                        self._tell(record)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the broker away: live updates pause, pages still work
                self.connected = False
                log.warning("live events: broker unavailable, retrying", error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
