"""The rules of 双公示 decision records, as pure functions (no Flask, no database).

Each rule names its source; docs/decisions.md lists them with the same sources.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as NumberError

from catalog import deadlines

# 国办发〔2015〕51号 (《关于运用大数据加强对市场主体服务和监管的若干意见》): licence and penalty
# decisions are published online within 7 working days (7个工作日内) of the decision.
PUBLISH_WITHIN_WORKING_DAYS = 7


def credit_code_error(code: str) -> str | None:
    """Why `code` is not a 统一社会信用代码, or None when it is one.

    GB 32100-2015 《法人和其他组织统一社会信用代码编码规则》: 18 characters from the digits and
    the capital letters less I, O, Z, S, V; the 18th is a check character, weighted modulo 31
    over the first 17. Checked by python-stdnum's `stdnum.cn.uscc` (which also requires the
    first 8 characters, the registering authority, entity type and region, to be digits).
    """
    try:
        uscc.validate(code)
    except NumberError as exc:
        if len(uscc.compact(code)) != 18:
            return "统一社会信用代码应为18位。"
        if isinstance(exc, InvalidChecksum):
            return "统一社会信用代码校验码错误（GB 32100-2015），请核对后重新填写。"
        return "统一社会信用代码含有不允许的字符（GB 32100-2015）。"
    return None


def resident_id_error(number: str) -> str | None:
    """Why `number` is not a resident ID number (公民身份号码), or None when it is one.

    GB 11643-1999 《公民身份号码》: 6 digits of the address code, 8 of the birth date, 3 of the
    sequence and a check digit (0-9 or X), ISO 7064 MOD 11-2 over the first 17. The check
    digit and the birth date are checked by python-stdnum's `stdnum.cn.ric`
    (`calc_check_digit`, `get_birth_date`). Not its `validate`, which also requires the
    address code to have existed in the year of birth: codes are given when a card is issued,
    so a real number such as 禹州 (411081, a code since 1988) for a person born in 1975 fails
    it.
    """
    compact = ric.compact(number)
    if len(compact) != 18:
        return "身份证号码应为18位。"
    if not compact[:17].isdigit() or compact[17] not in "0123456789X":
        return "身份证号码前17位须为数字，最后一位为数字或X。"
    if compact[17] != ric.calc_check_digit(compact):
        return "身份证号码校验码错误（GB 11643-1999），请核对后重新填写。"
    try:
        born = ric.get_birth_date(compact)
    except NumberError:
        born = None
    if born is None or born.year < 1900:
        return "身份证号码中的出生日期无效（GB 11643-1999）。"
    return None


def mask_id_number(number: str) -> str:
    """A natural person's ID number as the public may see it: the first 4 and the last 4
    characters kept, every other one a star (`4110**********1234`). Shorter numbers (a
    passport) keep a quarter at each end, at least one character masked."""
    number = number.strip()
    keep = 4 if len(number) >= 12 else len(number) // 4
    if keep == 0:
        return "*" * len(number)
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[-keep:]


# 17 digits and a digit or X, not inside a longer run of digits or letters.
_ID_SHAPE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def unmasked_id_numbers(text: str | None) -> list[str]:
    """The resident ID numbers written whole in a free text, in order.

    An 18-character number counts when its characters 7 to 14 are a birth date between 1900
    and 2099, whatever its check digit: a mistyped number exposes a person just as well. A
    masked number (`4110**********1234`) is not found.
    """
    if not text:
        return []
    found = []
    for match in _ID_SHAPE.finditer(text):
        number = match.group()
        year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
        plausible_month = 1900 <= year <= 2099 and 1 <= month <= 12
        if plausible_month and 1 <= day <= calendar.monthrange(year, month)[1]:
            found.append(number)
    return found


@cache
def publish_by(decided_on: date) -> date:
    """The last day a decision taken on `decided_on` is published on time: 7 working days
    later, by the holiday calendar of the deadline calculator (catalog.deadlines; the day of
    the decision not counted). Raises deadlines.CalendarRangeError outside its years.
    Cached: the calendar does not change while the app runs."""
    return deadlines.add_working_days(decided_on, PUBLISH_WITHIN_WORKING_DAYS)


def add_months(day: date, months: int) -> date:
    """The same day `months` months later; the month's last day when it has no such day
    (31 August + 6 months = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class PublicationPeriod:
    """How long a penalty of one severity stays published, counted from its decision:
    at least `min_months` (before that it cannot be ended early by 信用修复), at most
    `max_months` (then it leaves the public pages by itself)."""

    min_months: int
    max_months: int

    def earliest_end(self, decided_on: date) -> date:
        return add_months(decided_on, self.min_months)

    def latest_end(self, decided_on: date) -> date:
        return add_months(decided_on, self.max_months)
