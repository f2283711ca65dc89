"""Versioned event contracts: pydantic models, one per (producer, event name, version).

A contract's CloudEvents type is `sangsaeng.<producer>.<Name>.v<N>`. A published
version never changes in a breaking way; a breaking change is a new version.
Consumers are tolerant readers: unknown fields are ignored (extra="ignore").

The contracts are the shared language and depend on nothing above them: the envelope
(envelope.py) imports them, never the other way round.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    producer: ClassVar[str]
    name: ClassVar[str]
    version: ClassVar[int]
    key_description: ClassVar[str] = "the business id"  # what subject() (Kafka key, ce_subject) names

    @classmethod
    def ce_type(cls) -> str:
        return f"sangsaeng.{cls.producer}.{cls.name}.v{cls.version}"

    @classmethod
    def topic(cls) -> str:
        return events_topic(cls.producer)

    def subject(self) -> str:
        """The business id: Kafka key and ce_subject, so one business's events stay in order."""
        return str(getattr(self, "business_id"))


REGISTRY: dict[str, type[Event]] = {}


def contract(producer: str, name: str, version: int):
    """Class decorator that names and registers an event contract."""

    def register(cls: type[Event]) -> type[Event]:
        cls.producer, cls.name, cls.version = producer, name, version
        ce_type = cls.ce_type()
        if ce_type in REGISTRY:
            raise ValueError(f"{ce_type} is declared twice")
        REGISTRY[ce_type] = cls
        return cls

    return register


def source_of(service: str) -> str:
    """A producer's CloudEvents source (`ce_source`)."""
    return f"/sangsaeng/{service}"


def events_topic(service: str) -> str:
    return f"sangsaeng.{service}.events"


def dlq_topic(consumer: str) -> str:
    return f"sangsaeng.{consumer}.dlq"


def consumer_group(consumer: str) -> str:
    return f"sangsaeng.{consumer}"


def parse_ce_type(ce_type: str) -> tuple[str, str, int] | None:
    """`sangsaeng.intake.BusinessRegistered.v1` -> ("intake", "BusinessRegistered", 1)."""
    parts = ce_type.split(".")
    if len(parts) != 4 or parts[0] != "sangsaeng" or not parts[3].startswith("v"):
        return None
    try:
        return parts[1], parts[2], int(parts[3][1:])
    except ValueError:
        return None


def known_versions(producer: str, name: str) -> list[int]:
    return sorted(c.version for c in REGISTRY.values() if c.producer == producer and c.name == name)


# Importing the catalogue registers every contract.
from sangsaeng_common.contracts import intake as intake  # noqa: E402
from sangsaeng_common.contracts import visits as visits  # noqa: E402
from sangsaeng_common.contracts import loans as loans  # noqa: E402
from sangsaeng_common.contracts import referrals as referrals  # noqa: E402
from sangsaeng_common.contracts import districts as districts  # noqa: E402
from sangsaeng_common.contracts import operations as operations  # noqa: E402
from sangsaeng_common.contracts import ledger as ledger  # noqa: E402
