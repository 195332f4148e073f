"""The public list's search and filters and its page cursor, read from a request's arguments:
every bad value is a 400 with a Chinese message naming the field (catalog.decisions.listing
runs them)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from catalog.decisions.publication import LICENCE, PENALTY
from catalog.domain import DomainError, Invalid
from catalog.enums import LicenceStatus, PenaltyCategory
from catalog.paging import BAD_CURSOR
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE, has_control_characters

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_QUERY_LENGTH = 100
MAX_UNIT_LENGTH = 100
MAX_ITEM_CODE_LENGTH = 40
MAX_CURSOR_LENGTH = 200
FIRST_YEAR, LAST_YEAR = 2000, 2099
FIELD_LABELS = {
    "q": "搜索词", "kind": "类别", "year": "年份", "unit": "数据来源单位", "status": "许可状态",
    "item": "事项", "late": "逾期公示", "category": "处罚类别",
    "limit": "每页条数", "cursor": "分页参数", "credit_code": "统一社会信用代码",
}  # fmt: skip


def refuse(field: str, message: str) -> Invalid:
    return Invalid({field: [f"{FIELD_LABELS[field]}：{message}"]})


def _text(args: Mapping[str, str], field: str, longest: int) -> str:
    value = (args.get(field) or "").strip()
    if len(value) > longest:
        raise refuse(field, f"最多{longest}个字符。")
    if has_control_characters(value):
        raise refuse(field, CONTROL_CHARACTERS_MESSAGE)
    return value


@dataclass(frozen=True)
class DecisionFilters:
    """The search and filters of the public list, read from a request's arguments."""

    q: str = ""
    kind: str = ""  # "", licence or penalty
    year: int | None = None
    unit: str = ""
    status: str = ""  # a LicenceStatus value: licences only
    item: str = ""  # an approval item's code: licences only
    late: bool | None = None  # True: published after publish_by; False: on time
    category: str = ""  # a PenaltyCategory value: penalties only

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> DecisionFilters:
        """Invalid (400) with a Chinese message naming the field for any bad value."""
        kind = (args.get("kind") or "").strip()
        if kind not in ("", LICENCE, PENALTY):
            raise refuse("kind", "须为 licence（行政许可）或 penalty（行政处罚）。")
        raw_year = (args.get("year") or "").strip()
        year = None
        if raw_year:
            if not (raw_year.isascii() and raw_year.isdigit() and len(raw_year) == 4):
                raise refuse("year", f"须为{FIRST_YEAR}到{LAST_YEAR}之间的四位数字，如 2020。")
            year = int(raw_year)
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise refuse("year", f"须为{FIRST_YEAR}到{LAST_YEAR}之间的四位数字，如 2020。")
        status = (args.get("status") or "").strip()
        if status and status not in {s.value for s in LicenceStatus}:
            choices = "、".join(f"{s.value}（{s.label}）" for s in LicenceStatus)
            raise refuse("status", f"须为 {choices} 之一。")
        item = _text(args, "item", MAX_ITEM_CODE_LENGTH)
        for field, value in (("status", status), ("item", item)):
            if value and kind == PENALTY:
                raise refuse(field, "只适用于行政许可决定，请去掉此条件或选择“行政许可”。")
        raw_late = (args.get("late") or "").strip()
        if raw_late not in ("", "0", "1"):
            raise refuse("late", "须为 1（逾期公示）或 0（按时公示）。")
        category = (args.get("category") or "").strip()
        if category and category not in {c.value for c in PenaltyCategory}:
            choices = "、".join(f"{c.value}（{c.label}）" for c in PenaltyCategory)
            raise refuse("category", f"须为 {choices} 之一。")
        if category and (kind == LICENCE or status or item):
            raise refuse("category", "只适用于行政处罚决定，请去掉此条件或选择“行政处罚”。")
        return cls(
            q=_text(args, "q", MAX_QUERY_LENGTH),
            kind=kind,
            year=year,
            unit=_text(args, "unit", MAX_UNIT_LENGTH),
            status=status,
            item=item,
            late=None if not raw_late else raw_late == "1",
            category=category,
        )

    def as_args(self) -> dict[str, str]:
        values = {"q": self.q, "kind": self.kind, "year": self.year, "unit": self.unit,
                  "status": self.status, "item": self.item, "category": self.category,
                  "late": "" if self.late is None else str(int(self.late))}  # fmt: skip
        return {key: str(value) for key, value in values.items() if value not in ("", None)}

    @property
    def licences_only(self) -> bool:
        return self.kind == LICENCE or bool(self.status or self.item)

    @property
    def penalties_only(self) -> bool:
        return self.kind == PENALTY or bool(self.category)


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after (decided_on, kind, id) in the list's order."""

    decided_on: date
    kind: str
    id: int

    def encode(self) -> str:
        raw = json.dumps([self.decided_on.isoformat(), self.kind, self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        """None when absent; DomainError (400) for anything encode() did not make."""
        if not value:
            return None
        try:
            if len(value) > MAX_CURSOR_LENGTH:
                raise ValueError
            raw = base64.urlsafe_b64decode((value + "=" * (-len(value) % 4)).encode("ascii"))
            day, kind, row_id = json.loads(raw)
            if kind not in (LICENCE, PENALTY) or type(row_id) is not int:
                raise ValueError
            if not 1 <= row_id <= 2**31 - 1:
                raise ValueError
            return cls(date.fromisoformat(day), kind, row_id)
        except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
            raise DomainError(BAD_CURSOR) from None
