"""What a service needs before it runs, and what refills a lost broker: its schema migrated,
its topics created, its pool opened (`prepare`), its outbox republished."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
from aiokafka.errors import KafkaError

from sangsaeng_common import outbox
from sangsaeng_common.contracts import events_topic
from sangsaeng_common.db import MigrationError, connect, create_pool, is_transient, migrate, role_of, service_migrations
from sangsaeng_common.kafka import ensure_topics, partition_counts
from sangsaeng_common.logging import get_logger
from sangsaeng_common.retry import Backoff
from sangsaeng_common.runtime import Runtime, ServiceDefinition
from sangsaeng_common.settings import ServiceSettings

log = get_logger(__name__)


async def _retry_until_ready(what: str, action: Callable[[], object]) -> object:
    backoff = Backoff()
    while True:
        try:
            return await action()
        except Exception as exc:
            if not (is_transient(exc) or isinstance(exc, KafkaError)):
                raise
            delay = backoff.next()
            log.warning(f"{what} not reachable yet", error=repr(exc), retry_in_s=round(delay, 2))
            await asyncio.sleep(delay)


async def migrate_schema(definition: ServiceDefinition, settings: ServiceSettings) -> None:
    """Apply the service's migrations: as the schema's owner when MIGRATION_DATABASE_URL
    names one (granting the runtime role of DATABASE_URL what it needs), else as the
    service's own role. A runtime role that finds everything applied changes nothing."""
    owner_dsn = settings.migration_database_url
    conn = await connect(owner_dsn or settings.database_url, settings.schema, f"{settings.service_name}-migrate")
    try:
        await migrate(conn, settings.schema, service_migrations(definition.name), runtime_role=role_of(settings.database_url) if owner_dsn else None)
    except asyncpg.InsufficientPrivilegeError as exc:
        if owner_dsn:
            raise
        raise MigrationError(
            f"{exc}: migrations are pending and {role_of(settings.database_url)} does not own its schema; "
            f"run `python -m {definition.name} migrate` with MIGRATION_DATABASE_URL (the owner's DSN)"
        ) from exc
    finally:
        await conn.close()


def service_topics(definition: ServiceDefinition, settings: ServiceSettings) -> dict[str, int]:
    """Every topic the service writes or reads, with its partition count."""
    topics = {events_topic(definition.name), *definition.extra_topics}
    for handlers in definition.consumers:
        topics.update(handlers.topics)
        topics.add(handlers.dlq_topic)
    return {t: settings.partitions_for(t) for t in sorted(topics)}


async def republish(definition: ServiceDefinition, settings: ServiceSettings, from_sequence: int,
                    progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Create the missing topics, republish; returns the events per topic and the topics whose
    partition count is not the configured one (a client created them first, e.g. a broker
    that auto-creates topics on a producer's request): per-key order holds on them all the
    same, but fewer partitions bound how far consumers scale out."""
    wanted = service_topics(definition, settings)
    await ensure_topics(settings.kafka, wanted)
    have = await partition_counts(settings.kafka, sorted(wanted))
    mismatched = {t: {"partitions": have.get(t, 0), "configured": n} for t, n in wanted.items() if have.get(t, 0) != n}
    per_topic = await outbox.republish(
        dsn=settings.database_url, schema=settings.schema, kafka=settings.kafka, from_sequence=from_sequence,
        batch_size=settings.relay_batch_size, progress=progress,
    )
    return per_topic, mismatched


async def prepare(definition: ServiceDefinition, settings: ServiceSettings) -> Runtime:
    """Migrate the schema, create the topics, open the pool."""
    await _retry_until_ready("database", lambda: migrate_schema(definition, settings))
    await _retry_until_ready("broker", lambda: ensure_topics(settings.kafka, service_topics(definition, settings)))
    pool = await _retry_until_ready(
        "database",
        lambda: create_pool(settings.database_url, settings.schema, settings.service_name, settings.db_pool_min, settings.db_pool_max),
    )
    return Runtime(settings, pool)
