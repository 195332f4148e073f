"""Result lists as CSV, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from catalog.search import Hit

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HEADER = (
    "业务办理项编码", "事项编码", "事项名称", "办理情形", "事项类型", "承办机构", "办件类型",
    "法定时限（工作日）", "承诺时限（工作日）", "到办事现场次数", "是否收费", "网上办理深度",
)  # fmt: skip


def safe_cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _yes_no(value: bool | None) -> str:
    """是 or 否; an element not provided (None, as charges_fee may be) is an empty cell."""
    return "" if value is None else "是" if value else "否"


def hits_csv(hits: Iterable[Hit]) -> str:
    """CSV text with a BOM, so that Excel reads the Chinese as UTF-8. An element not provided
    (catalog.elements: a situation, a unit, the fee, the online depth) is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for hit in hits:
        h, item = hit.handling_item, hit.item
        writer.writerow([safe_cell(value) for value in (
            h.code, item.code, item.name, h.situation, item.item_type.label, item.handling_unit,
            h.case_type.label, "无期限" if h.statutory_days is None else h.statutory_days,
            h.promised_days, h.visits, _yes_no(h.charges_fee), h.online_depth,
        )])  # fmt: skip
    return "\ufeff" + buffer.getvalue()
