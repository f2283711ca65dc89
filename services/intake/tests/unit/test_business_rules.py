from datetime import date

import pytest

from intake.domain import business
from sangsaeng_common.contracts.intake import Stage


def test_the_lifecycle_chain_is_allowed():
    chain = [Stage.prospective, Stage.operating, Stage.closing, Stage.closed, Stage.restarting, Stage.operating]
    for current, wanted in zip(chain, chain[1:]):
        business.check_stage_move(current, wanted)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [(Stage.prospective, Stage.closed), (Stage.operating, Stage.closed), (Stage.closed, Stage.operating), (Stage.operating, Stage.operating)],
)
def test_other_moves_are_refused_naming_the_allowed_ones(current, wanted):
    with pytest.raises(business.StageChangeRefused) as refused:
        business.check_stage_move(current, wanted)
    assert set(refused.value.allowed) == set(business.ALLOWED_MOVES[current])
    for allowed in business.ALLOWED_MOVES[current]:
        assert allowed.value in str(refused.value)


@pytest.mark.parametrize(
    ("industry", "employees", "micro"),
    [("음식점업", 4, True), ("음식점업", 5, False), ("식료품 제조업", 9, True), ("식료품 제조업", 10, False), ("건설업", 9, True), ("소매업", 0, True)],
)
def test_micro_business_threshold_depends_on_industry(industry, employees, micro):
    assert business.is_micro_business(industry, employees) is micro


def test_fifteen_administrative_dongs():
    assert len(business.DONGS) == 15
    assert all(business.dong_error(d, date(2025, 8, 1)) is None for d in business.DONGS)


def test_yongsin_dong_only_for_records_before_the_split():
    assert business.dong_error("용신동", date(2025, 6, 30)) is None
    assert business.dong_error("용신동", date(2025, 7, 1)) is not None
    assert business.dong_error("용신동", None) is not None


def test_unknown_dong_is_refused():
    assert "not an administrative dong" in business.dong_error("역삼동", None)
