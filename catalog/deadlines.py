"""Completion dates in working days (工作日), from China's official holiday calendar.

Public holidays are skipped and the adjusted working days (调休, weekend days worked) count,
as the State Council announces them each year; the data comes from the chinesecalendar
package, which covers a fixed range of years. The State Council announces a year's holidays
in the November before it, and the package follows some time later: until then a day of a
later year is counted as a working day when it is Monday to Friday and not one of the
fixed-date public holidays, and the result says it is an estimate (a limit running into
January would otherwise be incomputable for weeks). The estimate misses the lunar holidays
(Spring Festival, Qingming, Dragon Boat, Mid-Autumn) and the adjusted working days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import chinese_calendar

MAX_STEPS = 3660  # no limit in the catalog is longer than this many calendar days
# (month, day) of the public holidays fixed in the solar calendar by 《全国年节及纪念日放假办法》
# (as revised in 2024): New Year's Day, Labour Day (two days), National Day (three days).
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


class CalendarRangeError(ValueError):
    """A date outside the years the holiday calendar covers or estimates."""


@cache
def covered_years() -> tuple[int, int]:
    """The first and last year of the holiday calendar."""
    years = sorted({day.year for day in chinese_calendar.holidays})
    return years[0], years[-1]


def check_application_date(day: date) -> None:
    """An application may be dated in a year the calendar covers, or in the year after."""
    first, last = covered_years()
    if not first <= day.year <= last + 1:
        raise CalendarRangeError(
            f"节假日日历只覆盖{first}年至{last}年（{last + 1}年按周一至周五估算），"
            f"无法计算{day.year}年的工作日。"
        )


def is_estimated(day: date) -> bool:
    """Whether the day is in a year after the calendar's last (where it is estimated)."""
    return day.year > covered_years()[1]


def is_workday(day: date) -> bool:
    """A working day by the calendar; in a year after its last, Monday to Friday less the
    fixed-date public holidays."""
    if is_estimated(day):
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS
    return chinese_calendar.is_workday(day)


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (the application day itself not counted).

    0 days (即办) means the same day when it is a working day, else the next working day.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    check_application_date(start)
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

    @property
    def promised_estimated(self) -> bool:
        return is_estimated(self.promised)

    @property
    def statutory_estimated(self) -> bool:
        return self.statutory is not None and is_estimated(self.statutory)

    @property
    def calendar_until(self) -> int:
        """The calendar's last year: days after it are estimated."""
        return covered_years()[1]


def deadlines(applied_on: date, *, promised_days: int, statutory_days: int | None) -> Deadlines:
    return Deadlines(
        applied_on=applied_on,
        promised=add_working_days(applied_on, promised_days),
        statutory=None if statutory_days is None else add_working_days(applied_on, statutory_days),
    )
