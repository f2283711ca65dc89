"""segregation_of_duties: neither the submitter nor the drafter decides or disburses."""

import pytest

from loans.domain.duties import refusal


@pytest.mark.parametrize("doing", ["decide", "disburse"])
def test_the_submitter_may_not_decide_or_disburse(doing):
    why = refusal("L-3001", doing, submitted_by="L-3001", drafted_by=None)
    assert why == f"L-3001 submitted this application and may not {doing} it; another loan officer must"


def test_the_drafter_may_not_decide_though_someone_else_submitted():
    why = refusal("L-3001", "decide", submitted_by="S-1001", drafted_by="L-3001")
    assert why is not None and "drafted" in why


def test_anyone_else_may():
    assert refusal("L-3002", "decide", submitted_by="L-3001", drafted_by="P-2002") is None
    assert refusal("L-3002", "disburse", submitted_by=None, drafted_by=None) is None
