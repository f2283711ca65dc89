"""Visits' event handlers: its directory of businesses kept from intake's events, visits
scheduled from support requests, and erasure."""

from __future__ import annotations

from collections import Counter

import asyncpg

from sangsaeng_common.handlers import EventContext, Handlers
from sangsaeng_common.directory import ERASED, BusinessDirectory, Erasure
from sangsaeng_common.contracts.intake import BusinessErased, BusinessRegistered, SupportRequested
from visits import handlers as commands
from visits.config import policy

handlers = Handlers("visits")


async def count_dongs(conn: asyncpg.Connection, registered: list[BusinessRegistered]) -> None:
    """How many businesses each dong has (what a territory's load is weighed by)."""
    # In one order (by dong) in every transaction: two batches counting the same dongs
    # at once then wait for each other instead of deadlocking.
    per_dong = dict(sorted(Counter(e.dong for e in registered).items()))
    await conn.execute(
        """insert into dong_business_counts (dong, businesses) select * from unnest($1::text[], $2::int[])
           on conflict (dong) do update set businesses = dong_business_counts.businesses + excluded.businesses""",
        list(per_dong), list(per_dong.values()),
    )


async def forget_owner(ctx: EventContext, event: BusinessErased) -> None:
    await commands.erase_business(ctx, event)


directory = BusinessDirectory(
    columns=("registration_number", "name", "dong", "industry", "employees", "is_micro_business", "stage", "registered_on"),
    stage_history=True,
    erasure=Erasure(blank={"name": ERASED, "registration_number": None}),
    on_registered=count_dongs,
    on_erased=forget_owner,
)
directory.register(handlers)


@handlers.on(SupportRequested)
async def schedule_requested_visit(ctx: EventContext, event: SupportRequested) -> None:
    await commands.schedule_from_request(ctx, policy(), event)
