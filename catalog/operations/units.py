"""The window (办事窗口) of each handling unit: the one place its fields are checked and saved,
audited, for the staff form, the API's readers, the importer and the seed alike."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from catalog import audit
from catalog.domain import Conflict, Invalid, flush_or
from catalog.extensions import db
from catalog.models import ApprovalItem, AuditAction, Role, ServiceUnit, User
from catalog.models.units import (
    MAX_ADDRESS,
    MAX_HOURS,
    MAX_MAP_URL,
    MAX_NAME,
    MAX_NOTES,
    MAX_PHONE,
)
from catalog.operations.actor import Actor
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE, has_control_characters

# The window's fields besides the name, with their words and bounds.
FIELDS = ("address", "phone", "hours", "map_url", "notes")
LABELS = {
    "name": "单位名称",
    "address": "窗口地址",
    "phone": "咨询电话",
    "hours": "办公时间",
    "map_url": "地图链接",
    "notes": "备注",
}
LIMITS = {
    "name": MAX_NAME,
    "address": MAX_ADDRESS,
    "phone": MAX_PHONE,
    "hours": MAX_HOURS,
    "map_url": MAX_MAP_URL,
    "notes": MAX_NOTES,
}
MAX_REASON = 2000
# What a citizen dials: a landline with its area code (0374-1234567, 0374 1234567, with an
# extension 0374-1234567-801 or 转801), a local number of 7 or 8 digits, a mobile number
# (13812345678), a public hotline (110, 12328, 12345, 95xxx), or a 400/800 number.
PHONE = re.compile(
    r"^(?:0\d{2,3}[- ]?\d{7,8}(?:(?:-|转)\d{1,6})?"
    r"|[2-9]\d{6,7}"
    r"|1[3-9]\d{9}"
    r"|1\d{2}|12\d{3}|95\d{3}"
    r"|[48]00[- ]?\d{3}[- ]?\d{4})$"
)
PHONE_MESSAGE = (
    "不是有效的电话号码：请填写一个号码，如 0374-1234567（座机，可加分机 -801）、"
    "12328（服务热线）或 13812345678（手机）。"
)


def _text(field: str, value: Any, errors: dict[str, list[str]]) -> str | None:
    """A field as it is stored: trimmed text within its bound, None when blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    value = value.strip()
    if has_control_characters(value):
        errors.setdefault(field, []).append(CONTROL_CHARACTERS_MESSAGE)
        return None
    if len(value) > LIMITS[field]:
        errors.setdefault(field, []).append(f"不能超过 {LIMITS[field]} 个字符。")
        return None
    return value or None


def _invalid(errors: dict[str, list[str]]) -> Invalid:
    """Refused fields: each message beside its field (a form, a sheet's cell) says what is
    wrong; the refusal's message as a whole names the fields too (a command prints it)."""
    refusal = Invalid(errors)
    refusal.message = "；".join(
        f"{LABELS.get(field, '修改原因')}：{' '.join(messages)}"
        for field, messages in errors.items()
    )
    return refusal


def check_unit_data(data: Mapping[str, Any]) -> dict[str, str | None]:
    """The name and window fields as saved; Invalid names every field that breaks a rule:
    a name is required, every field is bounded, a phone is one Chinese phone number, a map
    link is an http(s) address."""
    errors: dict[str, list[str]] = {}
    checked = {field: _text(field, data.get(field), errors) for field in ("name", *FIELDS)}
    if checked["name"] is None and "name" not in errors:
        errors["name"] = ["请填写单位名称（与事项的承办机构一致）。"]
    phone = checked["phone"]
    if phone is not None and not PHONE.match(phone):
        errors.setdefault("phone", []).append(PHONE_MESSAGE)
    url = checked["map_url"]
    if url is not None:
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            errors.setdefault("map_url", []).append(
                "须为以 http:// 或 https:// 开头的网址，如 https://map.baidu.com/…。"
            )
        elif any(character.isspace() for character in url):
            errors.setdefault("map_url", []).append("网址中不能有空格。")
    if errors:
        raise _invalid(errors)
    return checked


def find_unit(name: str | None) -> ServiceUnit | None:
    if not name or len(name) > MAX_NAME:
        return None
    return db.session.scalar(sa.select(ServiceUnit).where(ServiceUnit.name == name))


def unit_data(unit: ServiceUnit) -> dict[str, Any]:
    """A unit's window as data (the API, the export, the audit)."""
    return {"name": unit.name, **{field: getattr(unit, field) for field in FIELDS}}


class UnitConflict(Conflict):
    """The window changed (or was created) since the form was opened; nothing was written."""

    def __init__(self, name: str, *, created: bool = False):
        self.name = name
        what = "已有记录（在您填写期间被他人新建）" if created else "已被他人修改"
        super().__init__(
            f"在您编辑期间，“{name}”的办理窗口{what}，本次提交未保存。请查看最新内容后重新提交。"
        )


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    errors = []
    if not reason:
        errors.append("请说明修改原因。")
    elif len(reason) > MAX_REASON:
        errors.append(f"不能超过 {MAX_REASON} 个字符。")
    elif has_control_characters(reason):
        errors.append(CONTROL_CHARACTERS_MESSAGE)
    if errors:
        raise _invalid({"reason": errors})
    return reason


def save_unit(
    data: Mapping[str, Any],
    *,
    actor: User | Actor | str,
    reason: str | None,
    expected_version: int | str | None,
) -> ServiceUnit | None:
    """Create or change the window of `data["name"]`, audited ({field: (old, new)}, actor,
    reason) in the same transaction; flushes. `expected_version` is the version the form
    (or preview) saw, None or "" for a unit it saw without a record: anything else now is a
    UnitConflict. Returns the unit, or None when nothing differs (no audit record)."""
    actor = Actor.of(actor)
    actor.require(Role.reviewer, "只有审核人员和管理员可以修改办理窗口。")
    errors: dict[str, list[str]] = {}  # every refusal at once: the fields' and the reason's
    try:
        checked = check_unit_data(data)
    except Invalid as refusal:
        errors.update(refusal.errors)
    try:
        reason = _reason(reason)
    except Invalid as refusal:
        errors.update(refusal.errors)
    if errors:
        raise _invalid(errors)
    unit = find_unit(checked["name"])
    if unit is not None:
        db.session.refresh(unit, with_for_update=True)  # PostgreSQL: a racing save goes first
    seen = None if expected_version in (None, "") else str(expected_version)
    if seen != (str(unit.version) if unit is not None else None):
        raise UnitConflict(checked["name"], created=seen is None)
    old = unit_data(unit) if unit is not None else dict.fromkeys(FIELDS)
    changes = {
        field: (old[field], checked[field]) for field in FIELDS if old[field] != checked[field]
    }
    if unit is not None and not changes:
        return None
    if unit is None:
        unit = ServiceUnit(name=checked["name"])
        db.session.add(unit)
    for field in FIELDS:
        setattr(unit, field, checked[field])
    unit.updated_by = actor.name
    # a unit another request created meanwhile is a conflict, not a 500
    flush_or(lambda: UnitConflict(checked["name"], created=True))
    audit.record(
        actor=actor.name,
        action=AuditAction.create if seen is None else AuditAction.change,
        object_type="service_unit",
        object_code=unit.name,
        changes=changes,
        reason=reason,
    )
    return unit


def units_by_name(names: list[str]) -> dict[str, ServiceUnit]:
    wanted = [name for name in set(names) if name and len(name) <= MAX_NAME]
    if not wanted:
        return {}
    found = db.session.scalars(sa.select(ServiceUnit).where(ServiceUnit.name.in_(wanted)))
    return {unit.name: unit for unit in found}


def all_units() -> list[ServiceUnit]:
    return list(db.session.scalars(sa.select(ServiceUnit).order_by(ServiceUnit.name)))


def unit_overview() -> list[dict[str, Any]]:
    """Every unit the items name (with how many items, published or not) and every unit with
    a window record, by name; each with what its window lacks (address, phone)."""
    counts = dict(
        db.session.execute(
            sa.select(ApprovalItem.handling_unit, sa.func.count())
            .where(ApprovalItem.handling_unit.is_not(None))
            .group_by(ApprovalItem.handling_unit)
        ).all()
    )
    units = {unit.name: unit for unit in all_units()}
    rows = []
    for name in sorted(set(counts) | set(units)):
        unit = units.get(name)
        lacking = [
            LABELS[field]
            for field in ("address", "phone")
            if unit is None or getattr(unit, field) is None
        ]
        rows.append(
            {"name": name, "item_count": counts.get(name, 0), "unit": unit, "lacking": lacking}
        )
    return rows


def window_of(item: ApprovalItem, unit: ServiceUnit | None = None) -> dict[str, Any]:
    """Where and when an item is handled, as the guide, the notice and the API show it: its
    unit's window, each field the unit's record lacks (or all, without a record) taken from the
    item's own 办理地点 and 办理时间; None where neither gives it (暂未提供)."""
    if unit is None:
        unit = find_unit(item.handling_unit)
    return {
        "unit": item.handling_unit,
        "recorded": unit is not None,
        "address": (unit.address if unit else None) or item.location,
        "phone": unit.phone if unit else None,
        "hours": (unit.hours if unit else None) or item.hours,
        "map_url": unit.map_url if unit else None,
        "notes": unit.notes if unit else None,
    }


_LANDLINE = re.compile(r"^(0\d{2,3})[- ]?(\d{7,8})(?:(?:-|转)(\d{1,6}))?$")


def tel_href(phone: str) -> str:
    """A tel: link for a checked phone number: its digits, an extension as ;ext= (RFC 3966)."""
    landline = _LANDLINE.match(phone)
    if landline:
        area, number, extension = landline.groups()
        return f"tel:{area}{number}" + (f";ext={extension}" if extension else "")
    return "tel:" + re.sub(r"\D", "", phone)


def seed_units(windows: list[dict[str, Any]], *, force: bool = False) -> list[str]:
    """The seed's windows (catalog.seeding): a unit without a record is created; one with a
    record is kept as staff left it, unless `force` (then set to the seed's values). Returns
    the names written."""
    written = []
    for window in windows:
        unit = find_unit(window.get("name"))
        if unit is not None and not force:
            continue
        saved = save_unit(
            window,
            actor=SEED_ACTOR,
            reason="种子数据 units.yaml",
            expected_version=unit.version if unit is not None else None,
        )
        if saved is not None:
            written.append(saved.name)
    return written


SEED_ACTOR = "seed"
