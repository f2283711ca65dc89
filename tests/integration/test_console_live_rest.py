"""The console's live events rest while no page is open (its partitions paused: nothing fetched
from the broker), and a page opened later hears what happens from then on."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from console.adapters.live import LiveEvents

from sangsaeng_common.kafka import KafkaOptions
from sangsaeng_devstack.broker import Broker

TOPIC = "sangsaeng.intake.events"


async def test_no_page_open_nothing_fetched_then_a_page_hears_what_happens_from_then_on():
    with Broker() as broker:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        await producer.start()
        await producer.send_and_wait(TOPIC, b"{}", key=b"b-0")  # the topic exists before the console looks
        live = LiveEvents(KafkaOptions(broker.bootstrap_servers))
        await live.start()
        try:
            async def resting() -> None:
                while not (live._consumer is not None and live._consumer.assignment()
                           and live._consumer.paused() == live._consumer.assignment()):
                    await asyncio.sleep(0.1)
            await asyncio.wait_for(resting(), 30)
            await producer.send_and_wait(TOPIC, b"{}", key=b"b-1", headers=[("ce_subject", b"b-1"), ("ce_type", b"before")])

            page = live.subscribe("b-1")
            await asyncio.sleep(2)  # the console resumes, from the end
            await producer.send_and_wait(TOPIC, b"{}", key=b"b-1", headers=[("ce_subject", b"b-1"), ("ce_type", b"after")])
            told = await asyncio.wait_for(page.get(), 15)
            assert told["type"] == "after", "a page opened later was told of an event from before it opened"
            live.unsubscribe("b-1", page)
        finally:
            await live.stop()
            await producer.stop()
