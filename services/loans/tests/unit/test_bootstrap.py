"""The composition root: settings in, one clock and one set of side pools wired everywhere."""

from __future__ import annotations

import asyncio

import pytest

from loans.adapters.budget import ClaimPools
from loans.bootstrap import build
from loans.config import LoansSettings


class _Conn:
    async def fetchval(self, query: str) -> str:
        return "loans_replay"


def test_build_reads_the_settings_it_is_given_and_owns_the_claim_pools():
    definition = build(LoansSettings(clock_offset_days=40, guarantee_sweep_interval_s=5))
    assert definition.name == "loans" and len(definition.consumers) == 1 and len(definition.tasks) == 3
    assert [t.__name__ for t in definition.tasks] == ["guarantee_sweeper", "orphaned_claim_sweeper", "arrears_sweeper"]
    assert len(definition.resources) == 1  # the budget claims' side pools


def test_claim_pools_refuse_to_open_a_pool_before_the_composition_root_opens_them():
    with pytest.raises(RuntimeError, match="not open"):
        asyncio.run(ClaimPools().for_connection(_Conn()))  # type: ignore[arg-type]
