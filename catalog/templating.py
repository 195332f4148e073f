"""What every template may use besides Flask's own: times in Beijing time, the policy text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from flask import Flask
from markupsafe import Markup

from catalog.elements import NOT_PROVIDED
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


_NOT_PROVIDED = Markup('<span class="not-provided">%s</span>') % NOT_PROVIDED


def _missing(value: object) -> bool:
    """Missing as catalog.elements counts an element: None, blank text or an empty list (0 and
    False are values)."""
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return not value
    return value is None


def provided(value: object, attribute: str | None = None) -> object:
    """An element as a page shows it: the value (or its `attribute`, as an enum's label), or
    暂未提供 where it is missing (catalog.elements): never an empty line, never "None"."""
    if _missing(value):
        return _NOT_PROVIDED
    return getattr(value, attribute) if attribute else value


def fee_label(charges_fee: bool | None) -> str:
    """是否收费 in words: 收费, 不收费, or 暂未提供 (not provided is not 不收费)."""
    if charges_fee is None:
        return _NOT_PROVIDED
    return "收费" if charges_fee else "不收费"


def register(app: Flask) -> None:
    app.add_template_filter(provided)
    app.add_template_filter(fee_label)
    app.add_template_global(_NOT_PROVIDED, "not_provided")
    app.add_template_filter(beijing)
    app.add_template_filter(actor_label)
    app.add_template_filter(change_value)
    app.add_template_global(POLICY_TEXT, "policy_text")
    app.add_template_global(MEASURES, "measure_labels")
