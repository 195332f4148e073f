"""What every template may use besides Flask's own: times in Beijing time, the policy text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from flask import Flask

from catalog.ratios import POLICY_TEXT

# China keeps one time zone and no daylight saving time: UTC+8 all year.
BEIJING = timezone(timedelta(hours=8), "北京时间")


def beijing(moment: datetime | str | None, with_seconds: bool = False) -> str:
    """A stored time (UTC, or an ISO string) as staff read it: "2026-12-03 17:30（北京时间）"."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if moment.tzinfo is None:  # SQLite gives back naive datetimes; they were stored in UTC
        moment = moment.replace(tzinfo=UTC)
    shape = "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    return moment.astimezone(BEIJING).strftime(shape) + "（北京时间）"


def register(app: Flask) -> None:
    app.add_template_filter(beijing)
    app.add_template_global(POLICY_TEXT, "policy_text")
