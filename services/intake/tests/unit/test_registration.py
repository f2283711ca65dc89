import random

import pytest

from intake.domain import registration


@pytest.mark.parametrize("number", ["220-81-62517", "124-81-00998", "2208162517", "1248100998"])
def test_reference_numbers_pass(number):
    assert registration.normalize(number) == number.replace("-", "")


@pytest.mark.parametrize("number", ["220-81-62518", "2208162510", "220816251", "22081625170", "220-8162517", "abcdefghij", ""])
def test_invalid_numbers_are_refused(number):
    with pytest.raises(registration.InvalidRegistrationNumber):
        registration.normalize(number)


def _generated(rng: random.Random) -> str:
    first_nine = "".join(str(rng.randrange(10)) for _ in range(9))
    return first_nine + str(registration.check_digit(first_nine))


def test_generated_valid_numbers_pass_and_every_other_last_digit_fails():
    rng = random.Random(2025)
    for _ in range(500):
        number = _generated(rng)
        assert registration.normalize(number) == number
        assert registration.normalize(f"{number[:3]}-{number[3:5]}-{number[5:]}") == number
        for wrong in set("0123456789") - {number[9]}:
            with pytest.raises(registration.InvalidRegistrationNumber):
                registration.normalize(number[:9] + wrong)


def test_check_digit_follows_the_published_rule():
    # 220-81-62517: 2*1+2*3+0*7+8*1+1*3+6*7+2*1+5*3+1*5 = 83, + floor(1*5/10) = 83 -> (10 - 3) % 10 = 7
    assert registration.check_digit("220816251") == 7


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("2200162513", "individual_taxable"),
        ("2208162517", "corporation_head_office"),
        ("1248100998", "corporation_head_office"),
        ("2208262510", "non_profit_corporation"),
        ("2208562514", "corporation_branch"),
        ("2209062510", "individual_vat_exempt"),
        ("2208362519", "government_body"),
    ],
)
def test_kind_of_business_from_digits_four_and_five(number, kind):
    assert registration.business_kind(number) == kind


@pytest.mark.parametrize("text", ["800101-1234567", "주민번호 9912312345678 입니다", "020304 3123456"])
def test_resident_numbers_are_recognised(text):
    assert registration.contains_resident_number(text)


@pytest.mark.parametrize("text", ["220-81-62517", "010-1234-5678", "2208162517", "서울 동대문구 제기로 123-45", "801301-1234567"])
def test_other_numbers_are_not_resident_numbers(text):
    assert not registration.contains_resident_number(text)
