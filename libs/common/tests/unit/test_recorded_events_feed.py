"""The recorded events feed as a replay source: its wire format back to Kafka records, poll by
poll, each partition's in order; every failure a FeedUnavailable (no servers: a mock transport)."""

import json

import httpx
import pytest

from sangsaeng_common.contracts.intake import BusinessRegistered
from sangsaeng_common.event_sources import KafkaEvents
from sangsaeng_common.handlers import Handlers
from sangsaeng_common.recorded_events_feed import FeedUnavailable, RecordedEventsFeed, by_partition, record_of
from sangsaeng_common.replay import ReplaySource, event_source
from sangsaeng_common.settings import ServiceSettings


def _line(topic: str, partition: int, offset: int) -> dict:
    return {"topic": topic, "partition": partition, "offset": offset, "subject": f"b-{offset}",
            "headers": {"ce_id": f"id-{offset}", "ce_type": "sangsaeng.intake.BusinessRegistered.v1"},
            "data": {"name": "상생", "n": offset}, "hash": "ignored"}


LINES = [_line("sangsaeng.intake.events", 0, 0), _line("sangsaeng.intake.events", 1, 0),
         _line("sangsaeng.visits.events", 0, 7), _line("sangsaeng.intake.events", 0, 1)]


def _feed(lines=LINES, status: int = 200, seen: list | None = None, **kwargs) -> RecordedEventsFeed:
    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        return httpx.Response(status, text=body if status == 200 else "forbidden", headers={"Event-Count": str(len(lines))})

    return RecordedEventsFeed("http://feed.test", "secret", transport=httpx.MockTransport(answer), **kwargs)


async def _polls(feed: RecordedEventsFeed, handlers: Handlers) -> list:
    return [poll async for poll in feed.polls(handlers)]


def test_a_recorded_event_is_its_kafka_record_again():
    record = record_of(LINES[0])
    assert (record.topic, record.partition, record.offset, record.key) == ("sangsaeng.intake.events", 0, 0, b"b-0")
    assert json.loads(record.value) == {"name": "상생", "n": 0}
    assert ("ce_id", b"id-0") in record.headers


def test_a_batch_splits_per_partition_keeping_each_partitions_order():
    parts = by_partition([record_of(line) for line in LINES])
    assert [[(r.topic, r.partition, r.offset) for r in part] for part in parts] == [
        [("sangsaeng.intake.events", 0, 0), ("sangsaeng.intake.events", 0, 1)],
        [("sangsaeng.intake.events", 1, 0)],
        [("sangsaeng.visits.events", 0, 7)],
    ]


async def test_the_feed_is_asked_for_the_consumers_topics_with_the_token():
    seen: list[httpx.Request] = []
    handlers = Handlers("visits")

    @handlers.on(BusinessRegistered)
    async def remember(ctx, event) -> None: ...

    await _polls(_feed(seen=seen), handlers)
    assert seen[0].url.path == "/events" and seen[0].headers["Authorization"] == "Bearer secret"
    assert seen[0].url.params.get_list("topic") == ["sangsaeng.intake.events"]


async def test_a_topic_pattern_is_filtered_on_the_lines_and_polls_are_batches():
    handlers = Handlers("ledger-like", topic_pattern=r"sangsaeng\.intake\.events")
    polls = await _polls(_feed(batch=2), handlers)
    assert [known for known, _ in polls] == [4, 4]  # Event-Count, on every poll
    assert [[len(part) for part in parts] for _, parts in polls] == [[1, 1], [1]]


async def test_a_refusal_is_feed_unavailable_with_the_status():
    with pytest.raises(FeedUnavailable, match="answered 403"):
        await _polls(_feed(status=403), Handlers("visits"))


async def test_an_unreachable_feed_is_feed_unavailable():
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    feed = RecordedEventsFeed("http://feed.test", "t", transport=httpx.MockTransport(fail))
    with pytest.raises(FeedUnavailable, match="did not answer"):
        await _polls(feed, Handlers("visits"))


async def test_no_configured_feed_is_feed_unavailable():
    with pytest.raises(FeedUnavailable, match="EVENTS_FEED_URL"):
        await _polls(RecordedEventsFeed(None, "t"), Handlers("visits"))


def test_the_token_is_never_printed():
    assert "secret" not in repr(_feed())


def test_the_source_a_choice_names_and_the_feed_url_setting_with_its_former_name(monkeypatch):
    monkeypatch.delenv("EVENTS_FEED_URL", raising=False)
    monkeypatch.setenv("LEDGER_URL", "http://old.name:8005")
    settings = ServiceSettings(service_name="visits", database_url="postgresql://x/y")
    assert isinstance(event_source(ReplaySource.kafka, settings), KafkaEvents)
    feed = event_source(ReplaySource.ledger, settings, token="t")
    assert isinstance(feed, RecordedEventsFeed) and feed.url == "http://old.name:8005"
    assert event_source(ReplaySource.ledger, settings, token="t", url="http://given").url == "http://given"
    monkeypatch.setenv("EVENTS_FEED_URL", "http://new.name")
    assert ServiceSettings(service_name="visits", database_url="postgresql://x/y").events_feed_url == "http://new.name"
