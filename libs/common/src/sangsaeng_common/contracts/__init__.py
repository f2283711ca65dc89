"""Versioned event contracts: pydantic models, one per (producer, event name, version).

A contract's CloudEvents type is `sangsaeng.<producer>.<Name>.v<N>`. A published
version never changes in a breaking way; a breaking change is a new version, which comes
with an **upcaster** from the version before: a pure function vN -> vN+1 (`@upcaster`).
Decoding applies the chain (envelope.py), live and in every replay, so a handler only ever
sees the newest version; producers publish only the newest (outbox.add refuses an older
one); the log itself is never rewritten. Consumers are tolerant readers: unknown fields
are ignored (extra="ignore").

The contracts are the shared language and depend on nothing above them: the envelope
(envelope.py) imports them, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

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


Upcaster = Callable[[Any], Event]
UPCASTERS: dict[str, Upcaster] = {}  # the ce_type it reads -> the function to the next version


def upcaster(old: type[Event], new: type[Event]) -> Callable[[Upcaster], Upcaster]:
    """Register a pure function from one version of an event to the next (`old.version + 1`).

    It must not look anything up nor copy free text the new version no longer carries:
    it is applied to every old event each time one is read, live and in replays, for years."""
    if (old.producer, old.name) != (new.producer, new.name) or new.version != old.version + 1:
        raise ValueError(f"an upcaster goes from one version to the next of one event, not {old.ce_type()} -> {new.ce_type()}")

    def register(function: Upcaster) -> Upcaster:
        if old.ce_type() in UPCASTERS:
            raise ValueError(f"{old.ce_type()} has two upcasters")

        def checked(event: Event) -> Event:
            result = function(event)
            if type(result) is not new:
                raise TypeError(f"the upcaster of {old.ce_type()} returned {type(result).__name__}, not {new.ce_type()}")
            return result

        checked.__wrapped__ = function  # type: ignore[attr-defined]
        checked.__doc__ = function.__doc__
        UPCASTERS[old.ce_type()] = checked
        return function

    return register


def newest(producer: str, name: str) -> type[Event]:
    """The newest version of an event: the one producers publish and handlers see."""
    return REGISTRY[f"sangsaeng.{producer}.{name}.v{max(known_versions(producer, name))}"]


def is_newest(contract_cls: type[Event]) -> bool:
    # One look-up (outbox.add asks on every event): versions have no gaps (missing_upcasters).
    return f"sangsaeng.{contract_cls.producer}.{contract_cls.name}.v{contract_cls.version + 1}" not in REGISTRY


def upcast(event: Event) -> Event:
    """`event` as its newest version reads it (itself if it is the newest)."""
    while (step := UPCASTERS.get(event.ce_type())) is not None:
        event = step(event)
    return event


def upcast_data(ce_type: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An event's JSON data as its newest version reads it, with that version's ce_type, for
    readers of stored JSON (the audit ledger). Types without an upcaster come back unchanged;
    data that does not validate as its own version raises pydantic's ValidationError."""
    if ce_type not in UPCASTERS:
        return ce_type, data
    event = upcast(REGISTRY[ce_type].model_validate(data))
    return event.ce_type(), event.model_dump(mode="json")


def missing_upcasters() -> list[str]:
    """Every version after the first needs an upcaster from the one before, and versions have no gaps."""
    problems = []
    for producer, name in sorted({(c.producer, c.name) for c in REGISTRY.values()}):
        versions = known_versions(producer, name)
        if versions != list(range(1, len(versions) + 1)):
            problems.append(f"sangsaeng.{producer}.{name}: versions {versions} are not 1..{len(versions)}")
        for version in versions[:-1]:
            if f"sangsaeng.{producer}.{name}.v{version}" not in UPCASTERS:
                problems.append(f"sangsaeng.{producer}.{name}.v{version + 1}: no upcaster from v{version}")
    return problems


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
