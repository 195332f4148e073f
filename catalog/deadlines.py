"""Completion dates in working days (工作日), from China's official holiday calendar.

Public holidays are skipped and the adjusted working days (调休, weekend days worked) count,
as the State Council announces them each year; the data comes from the chinesecalendar
package, which covers a fixed range of years.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

MAX_STEPS = 3660  # no limit in the catalog is longer than this many calendar days


class CalendarRangeError(ValueError):
    """A date outside the years the holiday calendar covers."""


def covered_years() -> tuple[int, int]:
    years = sorted({day.year for day in chinese_calendar.holidays})
    return years[0], years[-1]


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        first, last = covered_years()
        raise CalendarRangeError(
            f"节假日日历只覆盖{first}年至{last}年，无法计算{day.year}年的工作日。"
        ) from None


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (the application day itself not counted).

    0 days (即办) means the same day when it is a working day, else the next working day.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    if days == 0:
        while not is_workday(current):
            current += timedelta(days=1)
        return current
    counted = 0
    for _ in range(MAX_STEPS):
        current += timedelta(days=1)
        if is_workday(current):
            counted += 1
            if counted == days:
                return current
    raise CalendarRangeError("时限过长，无法计算。")


@dataclass(frozen=True)
class Deadlines:
    applied_on: date
    promised: date
    statutory: date | None  # None: no statutory limit (无期限)


def deadlines(applied_on: date, *, promised_days: int, statutory_days: int | None) -> Deadlines:
    return Deadlines(
        applied_on=applied_on,
        promised=add_working_days(applied_on, promised_days),
        statutory=None if statutory_days is None else add_working_days(applied_on, statutory_days),
    )
