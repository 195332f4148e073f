"""What every template may use besides Flask's own: times in Beijing time, the policy text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from flask import Flask

from catalog.enums import ReviewState, Status
from catalog.ratios import POLICY_TEXT, PolicyRule
from catalog.report import SHARES

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


# Who did it, when it was not a person: the commands' names for the audit trail.
ACTORS = {"cli": "命令行", "seed": "种子数据", "system": "系统"}

# The measures an audit record's ratio effect names ("no_visit", "exceptions.<rule>").
MEASURES = {
    **{key: label for key, label, _attribute in SHARES},
    "compression": "时限压缩比",
    **{f"exceptions.{rule.value}": f"{rule.label}（项数）" for rule in PolicyRule},
}


def actor_label(actor: str | None) -> str:
    return ACTORS.get(actor or "", actor or "")


# Status values in words ("draft" is the item status of databases before migration 0014 too).
_STATUS_WORDS = {**{s.value: s.label for s in Status}, "draft": "草稿"}
_STATE_WORDS = {s.value: s.label for s in ReviewState}


def change_value(value: object, field: str = "") -> object:
    """One side of an audited change as staff read it: a status or a review state in words,
    nothing as （无）."""
    if value is None:
        return "（无）"
    if field.endswith("revision.state"):
        return _STATE_WORDS.get(str(value), value)
    if field == "status" or field.endswith(".status"):
        return _STATUS_WORDS.get(str(value), value)
    return value


def register(app: Flask) -> None:
    app.add_template_filter(beijing)
    app.add_template_filter(actor_label)
    app.add_template_filter(change_value)
    app.add_template_global(POLICY_TEXT, "policy_text")
    app.add_template_global(MEASURES, "measure_labels")
