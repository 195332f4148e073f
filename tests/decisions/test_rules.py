"""The rules of decision records as pure functions: check characters, masking, unmasked IDs in
text, the on-time day over a holiday, month arithmetic of publication periods."""

from __future__ import annotations

from datetime import date

import pytest

from catalog.decisions import rules

# Codes of the kind printed on business licences, not computed here: held to stdnum, not to
# arithmetic of our own.
VALID_CREDIT_CODES = [
    "91350100M000100Y43",  # the example code that circulates with GB 32100-2015
    "91110000600037341L",  # stdnum's documented example
]
# GB 11643-1999's own example: 11010519491231002X (a woman born 1949-12-31 in 朝阳区).
VALID_RESIDENT_ID = "11010519491231002X"


@pytest.mark.parametrize("code", VALID_CREDIT_CODES)
def test_a_registered_credit_code_passes(code):
    assert rules.credit_code_error(code) is None


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91350100M000100Y44", "校验码错误"),  # the last character changed
        ("91350100M000100Y4", "应为18位"),
        ("91350100M000100I43", "不允许的字符"),  # I is not in the alphabet
        ("", "应为18位"),
    ],
)
def test_a_wrong_credit_code_is_refused_with_its_reason(code, fragment):
    assert fragment in rules.credit_code_error(code)


def test_the_resident_id_check_digit():
    assert rules.resident_id_error(VALID_RESIDENT_ID) is None
    assert rules.resident_id_error(VALID_RESIDENT_ID.lower()) is None  # x as typed
    assert "校验码错误" in rules.resident_id_error("110105194912310021")
    assert "应为18位" in rules.resident_id_error("11010519491231002")
    assert "前17位须为数字" in rules.resident_id_error("1101051949123100AX")


def test_a_resident_id_with_an_impossible_birth_date_is_refused():
    # 1949-02-30 with a correct check digit for its first 17 characters
    from stdnum.cn import ric

    number = "11010519490230002"
    number += ric.calc_check_digit(number + "0")
    assert "出生日期无效" in rules.resident_id_error(number)


def test_an_address_code_newer_than_the_birth_is_accepted():
    """stdnum's validate() refuses 禹州 (411081, since 1988) for a 1975 birth; codes are given
    when the card is issued, so the rule here is the check digit and the date alone."""
    from stdnum.cn import ric

    number = "41108119750312003"
    number += ric.calc_check_digit(number + "0")
    assert not ric.is_valid(number)
    assert rules.resident_id_error(number) is None


def test_masking_keeps_four_characters_at_each_end():
    assert rules.mask_id_number("411081197503120037") == "4110**********0037"
    assert rules.mask_id_number("E12345678") == "E1*****78"
    assert rules.mask_id_number("AB") == "**"
    assert rules.mask_id_number(VALID_RESIDENT_ID) not in VALID_RESIDENT_ID


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("当事人李四（身份证号11010519491231002X）驾驶车辆", ["11010519491231002X"]),
        ("号码 110105194912310021 校验码不对也算", ["110105194912310021"]),
        ("遮蔽后 1101**********002X 不算", []),
        ("罚款 20000 元，车牌豫K12345", []),
        ("证书编号 411000202013990001 不是日期", []),  # 2020-13-99 is no birth date
        ("一串更长的数字 11010519491231002101 不是身份证号", []),
        (None, []),
    ],
)
def test_unmasked_id_numbers_in_free_text(text, found):
    assert rules.unmasked_id_numbers(text) == found


def test_on_time_counts_working_days_over_the_national_day_holiday():
    # 2020-09-28 (Monday): 29, 30 September, then 1-8 October are holidays, Saturday 10
    # October is a working day (调休): 9, 10, 12, 13, 14 October -> the 7th is 14 October.
    assert rules.publish_by(date(2020, 9, 28)) == date(2020, 10, 14)
    # an ordinary week: Monday 2020-06-01 + 7 working days = Wednesday 2020-06-10
    assert rules.publish_by(date(2020, 6, 1)) == date(2020, 6, 10)


def test_months_are_added_to_the_last_day_of_a_short_month():
    assert rules.add_months(date(2020, 8, 31), 6) == date(2021, 2, 28)
    assert rules.add_months(date(2019, 8, 31), 6) == date(2020, 2, 29)
    assert rules.add_months(date(2020, 3, 15), 36) == date(2023, 3, 15)
    period = rules.PublicationPeriod(min_months=3, max_months=12)
    assert period.earliest_end(date(2020, 11, 30)) == date(2021, 2, 28)
    assert period.latest_end(date(2020, 11, 30)) == date(2021, 11, 30)
