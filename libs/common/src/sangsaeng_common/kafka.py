"""Kafka plumbing shared by producers and consumers: topic creation."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from sangsaeng_common.logging import get_logger

log = get_logger(__name__)


async def ensure_topics(bootstrap_servers: str, partitions: dict[str, int]) -> None:
    """Create the topics that do not exist yet, with unlimited retention (the log is
    the audit record). An existing topic is left as it is."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="sangsaeng-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=count, replication_factor=1, topic_configs={"retention.ms": "-1"})
            for name, count in sorted(partitions.items())
            if name not in existing
        ]
        for topic in missing:
            try:
                await admin.create_topics([topic])
                log.info("topic created", topic=topic.name, partitions=topic.num_partitions)
            except TopicAlreadyExistsError:
                pass  # another replica created it first
    finally:
        await admin.close()
