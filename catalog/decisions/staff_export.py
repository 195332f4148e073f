"""The staff's export of full decision records (issue 24): the rows of the staff list with its
filters, every field as staff see it (a natural person's whole ID number, the penalties whose
publication has ended), in the columns of the 双公示 import template (catalog.decisions.columns)
and a few the records compute. Bounded: at most EXPORT_LIMIT rows, read in batches.

The public CSV (catalog.public.decisions) is another road: it renders PublicDecisions, masked."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from catalog.decisions.columns import COLUMNS, KIND_LABELS, LICENCE
from catalog.enums import PenaltyCategory
from catalog.extensions import db
from catalog.models import (
    ApprovalItem,
    CreditRepair,
    HandlingItem,
    LicenceDecision,
    PenaltyDecision,
)

EXPORT_LIMIT = 50_000
BATCH = 1_000
# The records' columns the template has not: computed, or kept beside the record
COMPUTED = {
    LICENCE: ("应公示截止日期（第7个工作日）", "是否逾期公示"),
    "penalty": ("应公示截止日期（第7个工作日）", "是否逾期公示", "公示状态", "信用修复日期"),
}


# The staff list's filters: its form's labels (templates/staff/decisions.html renders these) and
# the audit trail's summary of an export (export_summary) say the same words
FILTER_LABELS = {"q": "查找", "year": "年度", "unit": "数据来源单位", "late": "公示是否及时",
                 "item": "事项编码", "category": "处罚类别"}  # fmt: skip
LATE_LABELS = {"1": "逾期公示", "0": "按时公示"}


def _filter_value(name: str, value: str) -> str:
    if name == "q":
        return f"“{value}”"
    if name == "late":
        return LATE_LABELS.get(value, value)
    if name == "category":
        return dict(PenaltyCategory.choices()).get(value, value)
    return value


def export_summary(export: Mapping[str, Any]) -> str:
    """An export's audit details (operations.records_exported) in words, as the audit trail
    shows them: 导出行政处罚决定 2 条（CSV）；筛选：年度 2020，处罚类别 罚款."""
    filters = dict(export.get("filters") or {})
    kind = KIND_LABELS.get(filters.pop("kind", LICENCE), "")
    shown = [f"{FILTER_LABELS.get(name, name)} {_filter_value(name, str(value))}"
             for name, value in filters.items()]  # fmt: skip
    text = f"导出{kind} {export.get('records', 0)} 条（{str(export.get('format', '')).upper()}）"
    return text + ("；筛选：" + "，".join(shown) if shown else "；未筛选")


def headers(kind: str) -> list[str]:
    return [column.header for column in COLUMNS[kind]] + list(COMPUTED[kind])


def too_many(kind_label: str) -> str:
    """The refusal of an export whose records, counted up to EXPORT_LIMIT + 1, are more."""
    return (
        f"所选条件下的{kind_label}超过一次导出的上限 {EXPORT_LIMIT} 条。"
        "请按年度、数据来源单位等缩小筛选范围后再导出。"
    )


def _cell(value: Any) -> str:
    """A stored value as the import reads it back: an enumeration by its Chinese label, an
    amount without trailing zeros, a date in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        return getattr(value, "label", value.value)
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _publication(record: PenaltyDecision, ended_on: date | None, today: date) -> str:
    if ended_on is not None:
        return "已信用修复"
    return "公示期满" if record.publication_ends_on < today else "公示中"


def rows(kind: str, conditions: list, today: date) -> Iterator[list[str]]:
    """The records the conditions select, newest entered first (as the list), at most
    EXPORT_LIMIT, read BATCH at a time; each a list of cells in headers(kind)'s order."""
    model = LicenceDecision if kind == LICENCE else PenaltyDecision
    item = sa.orm.aliased(ApprovalItem)
    handling = sa.orm.aliased(HandlingItem)
    if kind == LICENCE:
        statement = (
            sa.select(model, item.code, handling.code)
            .join(item, item.id == LicenceDecision.item_id)
            .outerjoin(handling, handling.id == LicenceDecision.handling_item_id)
        )
    else:
        statement = sa.select(model, CreditRepair.ended_on).outerjoin(
            CreditRepair, CreditRepair.penalty_id == PenaltyDecision.id
        )
    statement = statement.where(*conditions).order_by(model.id.desc()).limit(EXPORT_LIMIT)
    result = db.session.execute(statement.execution_options(yield_per=BATCH))
    for row in result:
        record = row[0]
        values = {"item": row[1], "handling_item": row[2]} if kind == LICENCE else {}
        cells = [
            _cell(values[c.key] if c.key in values else getattr(record, c.key))
            for c in COLUMNS[kind]
        ]
        late = record.published_on > record.publish_by
        cells += [_cell(record.publish_by), "是" if late else "否"]
        if kind != LICENCE:
            cells += [_publication(record, row[1], today), _cell(row[1])]
        yield cells
