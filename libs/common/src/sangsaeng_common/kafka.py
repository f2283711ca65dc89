"""Kafka plumbing shared by every client: connection and security options, the producer
every component uses, and topic creation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from sangsaeng_common.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class KafkaOptions:
    """Where the brokers are and how to log in (PLAINTEXT in development; SASL/SCRAM
    with ACLs in the secure compose profile and on Kubernetes)."""

    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL
    sasl_mechanism: str | None = None  # e.g. SCRAM-SHA-512
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"bootstrap_servers": self.bootstrap_servers, "security_protocol": self.security_protocol}
        if self.sasl_mechanism:
            kwargs.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username, sasl_plain_password=self.sasl_password)
        if self.security_protocol in ("SSL", "SASL_SSL"):
            kwargs["ssl_context"] = create_ssl_context(cafile=self.ssl_cafile)
        return kwargs


def as_options(kafka: KafkaOptions | str) -> KafkaOptions:
    return kafka if isinstance(kafka, KafkaOptions) else KafkaOptions(kafka)


def make_producer(kafka: KafkaOptions | str, client_id: str) -> AIOKafkaProducer:
    # No idempotent or transactional producer: the development broker refuses
    # InitProducerId, and the outbox + inbox do not need it. aiokafka keeps one
    # in-flight request per partition, so retries do not reorder a partition.
    return AIOKafkaProducer(
        **as_options(kafka).client_kwargs(),
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
        retry_backoff_ms=200,
    )


async def ensure_topics(kafka: KafkaOptions | str, partitions: dict[str, int]) -> None:
    """Create the topics that do not exist yet, with unlimited retention (the log is
    the record of what happened). An existing topic is left as it is."""
    admin = AIOKafkaAdminClient(**as_options(kafka).client_kwargs(), client_id="sangsaeng-topics")
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


async def partition_counts(kafka: KafkaOptions | str, topics: list[str]) -> dict[str, int]:
    """How many partitions each of `topics` has on the broker (0: it does not exist)."""
    admin = AIOKafkaAdminClient(**as_options(kafka).client_kwargs(), client_id="sangsaeng-topics")
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
        return {t["topic"]: len(t.get("partitions") or ()) for t in described}
    finally:
        await admin.close()
