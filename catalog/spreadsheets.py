"""The catalog as spreadsheets staff live in: one row per handling item, materials on a second
sheet, Chinese headers, enumerations by their Chinese names. Export writes exactly what import
reads, so export -> import changes nothing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from catalog.elements import LABELS, Gaps, gaps
from catalog.enums import (
    CaseType,
    ExerciseLevel,
    HandlingForm,
    ItemType,
    LabelledEnum,
    MaterialForm,
    MaterialKind,
    MaterialSource,
    Necessity,
    PowerSource,
    ResultType,
    ServiceTarget,
)
from catalog.public.export import safe_cell

ITEM_SHEET = "事项"
MATERIAL_SHEET = "申请材料"
FAQ_SHEET = "常见问题"  # one question and answer a row, by item code (optional on import)
LIST_SEPARATOR = "、"
STEP_SEPARATOR = "；"
# The item code of the template's example row (catalog.import_template): the import refuses it,
# so a template uploaded unchanged imports nothing.
EXAMPLE_CODE = "EXAMPLE-001"
EXAMPLE_REFUSED = (
    f"“{EXAMPLE_CODE}”是导入模板中的示例行，不会导入：请先删除事项表和申请材料表中的示例行"
    "（名称以【示例】开头），再上传。"
)
# Short forms staff write beside the national names and codes.
EXTRA_ALIASES: dict[type, dict[str, str]] = {
    ItemType: {"其他职权": "other", "许可": "licence", "确认": "confirmation"},
    CaseType: {"即办": "instant", "承诺": "promised"},
    MaterialForm: {"纸质或电子": "paper_or_electronic", "电子": "electronic"},
    ExerciseLevel: {"市": "city", "县": "county", "省": "province"},
    ServiceTarget: {"法人": "enterprise", "企业": "enterprise", "个人": "natural_person"},
}
# Short forms that stand for more than the member they are read as: the import says so.
ASSUMED: dict[type, dict[str, str]] = {ServiceTarget: {"法人": "企业法人"}}


def aliases(enum_class: type[LabelledEnum]) -> dict[str, str]:
    """Every spelling of every member: value, Chinese name, national code, short forms."""
    table: dict[str, str] = {}
    for member in enum_class:
        for spelling in (member.value, member.label, member.national_code):
            if spelling:
                table[spelling.lower()] = member.value
    for spelling, value in EXTRA_ALIASES.get(enum_class, {}).items():
        table[spelling.lower()] = value
    return table


@dataclass(frozen=True)
class Column:
    header: str
    key: str  # the key in the item (or handling item, or material) data
    enum: type[LabelledEnum] | None = None
    many: bool = False  # a list of enum values, joined by 、


ITEM_COLUMNS = (
    Column("事项编码", "code"),
    Column("事项名称", "name"),
    Column("事项类型", "type", ItemType),
    Column("实施主体", "implementing_body"),
    Column("承办机构", "handling_unit"),
    Column("行使层级", "exercise_level", ExerciseLevel),
    Column("权力来源", "power_source", PowerSource),
    Column("服务对象", "service_targets", ServiceTarget, many=True),
    Column("设定依据", "legal_basis"),
    Column("受理条件", "conditions"),
    Column("审批结果", "result.name"),
    Column("审批结果类型", "result.type", ResultType),
    Column("咨询方式", "consultation"),
    Column("监督投诉方式", "complaint"),
    Column("办理地点", "location"),
    Column("办理时间", "hours"),
)
HANDLING_COLUMNS = (
    Column("业务办理项编码", "code"),
    Column("办理项名称", "situation"),
    Column("办件类型", "case_type", CaseType),
    Column("法定时限", "statutory_days"),
    Column("承诺时限", "promised_days"),
    Column("到现场次数", "visits"),
    Column("必须现场办理原因说明", "visit_reason"),
    Column("办理形式", "forms", HandlingForm, many=True),
    Column("网上办理深度", "online_depth"),
    Column("是否收费", "charges_fee"),
    Column("收费项目", "fees.name"),
    Column("收费标准", "fees.standard"),
    Column("收费金额", "fees.amount"),
    Column("收费依据", "fees.basis"),
    Column("办理流程", "steps"),
    Column("在线办理地址", "online_url"),  # may be absent from data: none (catalog.schemas)
)
MATERIAL_COLUMNS = (
    Column("业务办理项编码", "handling_item"),
    Column("材料名称", "name"),
    Column("材料类型", "kind", MaterialKind),
    Column("材料形式", "form", MaterialForm),
    Column("份数", "copies"),
    Column("必要性", "necessity", Necessity),
    Column("来源渠道", "source", MaterialSource),
    Column("备注", "notes"),
)
# The handling units' windows (catalog.operations.units), on a sheet of their own.
UNIT_SHEET = "办理窗口"
UNIT_COLUMNS = (
    Column("单位名称", "name"),
    Column("窗口地址", "address"),
    Column("咨询电话", "phone"),
    Column("办公时间", "hours"),
    Column("地图链接", "map_url"),
    Column("备注", "notes"),
)
FAQ_COLUMNS = (
    Column("事项编码", "item"),
    Column("问题", "question"),
    Column("解答", "answer"),
)
# The files offered beside a material, by kind (空白表格 / 示例样表): each a reference to a file
# the catalog holds, "文件名 (sha256:…)", one a line (catalog.attachments; the import refuses a
# reference to a file it does not hold). A file without these columns keeps a material's files.
ATTACHMENT_COLUMNS = (Column("空白表格", "blank"), Column("示例样表", "sample"))
ATTACHMENT_HEADERS = [column.header for column in ATTACHMENT_COLUMNS]
ROW_HEADERS = [column.header for column in (*ITEM_COLUMNS, *HANDLING_COLUMNS)]
MATERIAL_HEADERS = [column.header for column in MATERIAL_COLUMNS]
FAQ_HEADERS = [column.header for column in FAQ_COLUMNS]

# The export writes each column under its name in the national exchange schema
# (../shared/DOMAIN.md) where that differs from the field's own header above; the importer
# reads both (seed/import_headers.yaml), so export -> import changes nothing.
NATIONAL_HEADERS = {
    "审批结果": "审批结果名称",
    "办理项名称": "业务办理项名称",
    "法定时限": "法定办结时限",
    "承诺时限": "承诺办结时限",
    "到现场次数": "到办事现场次数",
    "收费项目": "收费项目名称",
    "份数": "纸质材料份数",
    "必要性": "材料必要性",
}
# Computed by the export from the other columns (catalog.elements), ignored by the importer.
COMPLETE_HEADER, GAPS_HEADER = "要素是否完整", "缺少要素"
COMPLETENESS_HEADERS = (COMPLETE_HEADER, GAPS_HEADER)
EXPORT_ROW_HEADERS = [NATIONAL_HEADERS.get(h, h) for h in ROW_HEADERS] + [*COMPLETENESS_HEADERS]
EXPORT_MATERIAL_HEADERS = [NATIONAL_HEADERS.get(h, h) for h in MATERIAL_HEADERS] + [
    *ATTACHMENT_HEADERS
]
# an exported header -> the field it holds (None: a completeness column)
FIELD_OF_EXPORT_HEADER: dict[str, str | None] = {
    **{NATIONAL_HEADERS.get(h, h): h for h in (*ROW_HEADERS, *MATERIAL_HEADERS)},
    **{h: h for h in ATTACHMENT_HEADERS},
    **dict.fromkeys(COMPLETENESS_HEADERS),
}


def label_of(enum_class: type[LabelledEnum], value: str) -> str:
    return enum_class(value).label


# -- cells: data -> text ----------------------------------------------------------------------


BASIS_SEPARATOR = "｜"


def legal_basis_text(bases: Iterable[dict[str, Any]]) -> str:
    """One line per basis, exact: law｜article｜text (empty parts stay empty)."""
    return "\n".join(
        BASIS_SEPARATOR.join([basis["law"], basis.get("article") or "", basis.get("text") or ""])
        for basis in bases
    )


def steps_text(steps: Iterable[dict[str, Any]]) -> str:
    return STEP_SEPARATOR.join(
        step["name"] + (f"（{step['days']}）" if step.get("days") is not None else "")
        for step in steps
    )


def _item_cells(item: dict[str, Any]) -> list[Any]:
    """An element not provided (catalog.elements) is an empty cell, read back as missing."""
    cells = []
    for column in ITEM_COLUMNS:
        if column.key == "legal_basis":
            cells.append(legal_basis_text(item["legal_basis"]))
        elif column.key.startswith("result."):
            value = (item.get("result") or {}).get(column.key.split(".")[1])
            cells.append(label_of(column.enum, value) if column.enum and value else value)
        elif column.many:
            cells.append(LIST_SEPARATOR.join(label_of(column.enum, v) for v in item[column.key]))
        elif column.enum:
            value = item[column.key]
            cells.append(label_of(column.enum, value) if value else None)
        else:
            cells.append(item[column.key])
    return cells


def _handling_cells(handling: dict[str, Any]) -> list[Any]:
    provided = handling["fees"] is not None  # None: whether it charges is not provided
    fees = [] if handling["fees"] in ("none", None) else handling["fees"]
    cells = []
    for column in HANDLING_COLUMNS:
        key = column.key
        if key == "charges_fee":
            cells.append(("是" if fees else "否") if provided else None)
        elif key.startswith("fees."):
            cells.append("\n".join(str(fee.get(key[5:]) or "") for fee in fees))
        elif key == "steps":
            cells.append(steps_text(handling["steps"]))
        elif column.many:
            cells.append(LIST_SEPARATOR.join(label_of(column.enum, v) for v in handling[key]))
        elif column.enum:
            cells.append(label_of(column.enum, handling[key]))
        elif key == "statutory_days" and handling[key] is None:
            cells.append("无期限")
        else:
            cells.append(handling.get(key))
    return cells


def _material_cells(code: str, material: dict[str, Any]) -> list[Any]:
    return (
        [code]
        + [
            label_of(column.enum, material[column.key]) if column.enum else material[column.key]
            for column in MATERIAL_COLUMNS[1:]
        ]
        + [
            file_references(material.get("attachments") or [], column.key)
            for column in ATTACHMENT_COLUMNS
        ]
    )


def file_references(files: list[dict[str, Any]], kind: str) -> str | None:
    """A material's files of one kind as a cell: "文件名 (sha256:…)", one a line."""
    lines = [f"{f['filename']} (sha256:{f['sha256']})" for f in files if f["kind"] == kind]
    return "\n".join(lines) or None


def _completeness_cells(gaps: Gaps, code: str) -> list[str]:
    missing = gaps.of(code)
    return ["否" if missing else "是", LIST_SEPARATOR.join(LABELS[key] for key in missing)]


def faq_rows(items: Iterable[dict[str, Any]]) -> list[list[Any]]:
    """The FAQ sheet's rows: each item's questions in order (an item without one has none)."""
    return [
        [item["code"], entry["question"], entry["answer"]]
        for item in items
        for entry in item.get("faq") or []
    ]


def rows(items: Iterable[dict[str, Any]]) -> tuple[list[list[Any]], list[list[Any]]]:
    """(handling-item rows, material rows) of items given as data (services.item_data); each
    handling-item row ends with the completeness columns."""
    item_rows, material_rows = [], []
    for item in items:
        base = _item_cells(item)
        found = gaps(item)
        for handling in item["handling_items"]:
            item_rows.append(
                base + _handling_cells(handling) + _completeness_cells(found, handling["code"])
            )
            material_rows += [_material_cells(handling["code"], m) for m in handling["materials"]]
    return item_rows, material_rows


def _safe(row: Iterable[Any]) -> list[Any]:
    """Text cells that would run as formulas get a leading '; numbers stay numbers."""
    return [
        value if isinstance(value, int | float | Decimal) or value is None else safe_cell(value)
        for value in row
    ]


def to_xlsx(
    items: Iterable[dict[str, Any]], units: Iterable[dict[str, Any]] | None = None
) -> bytes:
    """The items' sheets, and with `units` (catalog.operations.units.unit_data) the 办理窗口
    sheet, which the staff import reads back (catalog.unit_transfer)."""
    items = list(items)
    item_rows, material_rows = rows(items)
    workbook = Workbook(write_only=True)
    sheets = [
        (ITEM_SHEET, EXPORT_ROW_HEADERS, item_rows),
        (MATERIAL_SHEET, EXPORT_MATERIAL_HEADERS, material_rows),
        (FAQ_SHEET, FAQ_HEADERS, faq_rows(items)),
    ]
    if units is not None:
        unit_rows = [[unit[column.key] for column in UNIT_COLUMNS] for unit in units]
        sheets.append((UNIT_SHEET, [column.header for column in UNIT_COLUMNS], unit_rows))
    for title, headers, body in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append(headers)
        for row in body:
            sheet.append(_safe(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(items: Iterable[dict[str, Any]]) -> tuple[str, str]:
    """(handling-item CSV, materials CSV), UTF-8 with a BOM for Excel."""
    item_rows, material_rows = rows(items)
    return _csv(EXPORT_ROW_HEADERS, item_rows), _csv(EXPORT_MATERIAL_HEADERS, material_rows)


def _csv(headers: list[str], body: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(_safe(row) for row in body)
    return "\ufeff" + buffer.getvalue()


# -- cells: text -> data ----------------------------------------------------------------------

_LIMIT = re.compile(r"^(\d+)\s*(个?工作日|天|日|个月|月|年)?$")
_UNITS = {None: 1, "工作日": 1, "个工作日": 1, "天": 1, "日": 1, "个月": 22, "月": 22, "年": 250}


def parse_limit(value: Any) -> tuple[int | None, str | None]:
    """A time limit as staff write it -> (working days or None for 无期限, what was normalised).

    Raises ValueError with a Chinese message for anything else (a date, a negative number...).
    """
    if value is None or (isinstance(value, str) and value.strip() in ("", "无", "无期限")):
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("须为工作日数（如 20、20个工作日、即办、1个月、无期限），不能是日期。")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"“{value}”不是整数天数。")
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("时限不能为负数。")
        return value, None
    text = value.strip().replace(" ", "")
    if text in ("即办", "当场办结", "立即办结"):
        return 0, f"“{text}”按0个工作日计"
    match = _LIMIT.match(text)
    if not match:
        raise ValueError(
            f"“{text[:30]}”无法识别，须为工作日数（如 20、20个工作日、即办、1个月、无期限）。"
        )
    number, unit = int(match.group(1)), match.group(2)
    days = number * _UNITS[unit]
    note = None if unit in (None, "工作日", "个工作日") else f"“{text}”按{days}个工作日计"
    return days, note


def parse_enum(column: Column, value: Any) -> str:
    text = ("" if value is None else str(value)).strip()
    table = aliases(column.enum)
    if text.lower() not in table:
        allowed = "、".join(member.label for member in column.enum)
        raise ValueError(f"“{text[:30]}”不是有效的{column.header}，可选：{allowed}。")
    return table[text.lower()]


def parse_legal_basis(text: str) -> list[dict[str, Any]]:
    """Lines of law｜article｜text (as exported), or as staff write them: 《law》article：text."""
    bases = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if BASIS_SEPARATOR in line:
            law, article, body = ([*line.split(BASIS_SEPARATOR, 2), "", ""])[:3]
            bases.append(
                {
                    "law": law.strip(),
                    "article": article.strip() or None,
                    "text": body.strip() or None,
                }
            )
            continue
        head, _sep, body = line.partition("：")
        if head.startswith("《") and "》" in head:
            law, article = head[: head.index("》") + 1], head[head.index("》") + 1 :].strip()
        else:
            law, article = head, ""
        bases.append({"law": law, "article": article or None, "text": body or None})
    return bases


_STEP = re.compile(r"^(.*?)(?:（(\d+)）)?$")


def parse_steps(text: str) -> list[dict[str, Any]]:
    steps = []
    for part in (text or "").split(STEP_SEPARATOR):
        part = part.strip()
        if part:
            name, days = _STEP.match(part).groups()
            steps.append({"name": name, "days": int(days) if days is not None else None})
    return steps


def parse_many(column: Column, value: Any) -> list[str]:
    parts = re.split(r"[、,，;；\n]", "" if value is None else str(value))
    return [parse_enum(column, part) for part in parts if part.strip()]


def export_data() -> list[dict[str, Any]]:
    """Every item as staff see it (the pending draft where there is one), by code."""
    import sqlalchemy as sa

    from catalog.drafts import current_data
    from catalog.extensions import db
    from catalog.models import ApprovalItem

    items = db.session.scalars(sa.select(ApprovalItem).order_by(ApprovalItem.code))
    return [current_data(item) for item in items]
