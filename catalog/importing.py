"""Spreadsheet and CSV rows -> item data: read safely, normalise, plan what an import would
do (nothing is written here); catalog.operations.imports applies a plan, all or nothing."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.domain import Conflict, DomainError
from catalog.drafts import current_data, diff, editable_version
from catalog.extensions import db
from catalog.models import ApprovalItem
from catalog.public.export import FORMULA_PREFIXES
from catalog.ratios import warnings_for
from catalog.services import CatalogValidationError, check_item_data
from catalog.spreadsheets import (
    HANDLING_COLUMNS,
    ITEM_COLUMNS,
    ITEM_SHEET,
    MATERIAL_COLUMNS,
    MATERIAL_HEADERS,
    MATERIAL_SHEET,
    ROW_HEADERS,
    Column,
    parse_enum,
    parse_legal_basis,
    parse_limit,
    parse_many,
    parse_steps,
)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # an xlsx is a zip: refuse one that unpacks to more
MAX_ROWS = 5_000
MAX_MATERIAL_ROWS = 50_000


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int | None  # the spreadsheet's row number (the header is row 1)
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.sheet + (f" 第{self.row}行" if self.row else "")
        where += f"「{self.column}」" if self.column else ""
        return f"{where}：{self.message}"


class SpreadsheetError(DomainError):
    """The file cannot be imported; `problems` says where and why, row by row."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ImportConflict(Conflict):
    """Items changed since the preview was made; nothing was imported. `codes` names them."""

    def __init__(self, codes: list[str]):
        self.codes = codes
        super().__init__(
            f"预览之后，以下事项已被他人修改：{'、'.join(codes[:20])}"
            + ("等" if len(codes) > 20 else "")
            + "。本次未导入任何内容；请查看最新预览，确认后再导入。"
        )


@dataclass
class Row:
    number: int
    cells: dict[str, Any]


# -- reading files ------------------------------------------------------------------------------


def _decode_csv(content: bytes, sheet: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SpreadsheetError(
        [Problem(sheet, None, None, "无法识别文件编码，请保存为 UTF-8 或 GB18030 的 CSV。")]
    )


def _unescape(value: Any) -> Any:
    """Trim text, and take back the ' that export puts before a formula-like cell."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value.startswith("'") and value[1:2] in FORMULA_PREFIXES:
        return value[1:]
    return value


def _table(raw_rows: list[list[Any]], sheet: str, headers: list[str], limit: int) -> list[Row]:
    if not raw_rows:
        raise SpreadsheetError([Problem(sheet, None, None, "没有表头。")])
    header = [str(cell).strip() if cell is not None else "" for cell in raw_rows[0]]
    missing = [h for h in headers if h not in header]
    unknown = [h for h in header if h and h not in headers]
    if missing or unknown:
        message = "表头不对。" + (f"缺少：{'、'.join(missing)}。" if missing else "")
        message += f"无法识别：{'、'.join(unknown[:10])}。" if unknown else ""
        raise SpreadsheetError([Problem(sheet, 1, None, message + "请使用下载的模板。")])
    body = [r for r in raw_rows[1:] if any(c not in (None, "") for c in r)]
    if len(body) > limit:
        raise SpreadsheetError([Problem(sheet, None, None, f"行数超过上限 {limit} 行。")])
    rows = []
    for number, raw in enumerate(raw_rows[1:], start=2):
        if any(c not in (None, "") for c in raw):
            cells = {name: (raw[i] if i < len(raw) else None) for i, name in enumerate(header)}
            rows.append(Row(number, {k: _unescape(v) for k, v in cells.items() if k}))
    return rows


def read_xlsx(content: bytes) -> tuple[list[Row], list[Row]]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise SpreadsheetError([Problem("文件", None, None, "不是有效的 xlsx 文件。")]) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise SpreadsheetError([Problem("文件", None, None, "文件解压后过大，拒绝导入。")])
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken or hostile file
        raise SpreadsheetError([Problem("文件", None, None, "无法读取该 xlsx 文件。")]) from None
    try:
        tables = []
        for name, headers, limit in (
            (ITEM_SHEET, ROW_HEADERS, MAX_ROWS),
            (MATERIAL_SHEET, MATERIAL_HEADERS, MAX_MATERIAL_ROWS),
        ):
            if name not in workbook.sheetnames:
                raise SpreadsheetError([Problem(name, None, None, f"缺少工作表“{name}”。")])
            raw = []
            for row in workbook[name].iter_rows(values_only=True):
                raw.append(list(row))
                if len(raw) > limit + 1:
                    raise SpreadsheetError(
                        [Problem(name, None, None, f"行数超过上限 {limit} 行。")]
                    )
            tables.append(_table(raw, name, headers, limit))
    finally:
        workbook.close()
    return tables[0], tables[1]


def read_csv(items: bytes, materials: bytes | None) -> tuple[list[Row], list[Row]]:
    item_rows = _table(
        list(csv.reader(io.StringIO(_decode_csv(items, ITEM_SHEET)))),
        ITEM_SHEET,
        ROW_HEADERS,
        MAX_ROWS,
    )
    material_rows = []
    if materials is not None:
        material_rows = _table(
            list(csv.reader(io.StringIO(_decode_csv(materials, MATERIAL_SHEET)))),
            MATERIAL_SHEET, MATERIAL_HEADERS, MAX_MATERIAL_ROWS)  # fmt: skip
    return item_rows, material_rows


def read_file(filename: str, content: bytes, materials: bytes | None = None):
    if len(content) > MAX_UPLOAD_BYTES or (materials and len(materials) > MAX_UPLOAD_BYTES):
        raise SpreadsheetError(
            [Problem("文件", None, None, f"文件超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB。")]
        )
    if filename.lower().endswith(".xlsx"):
        return read_xlsx(content)
    if filename.lower().endswith(".csv"):
        return read_csv(content, materials)
    raise SpreadsheetError([Problem("文件", None, None, "只支持 .xlsx 和 .csv 文件。")])


# -- rows -> item data ----------------------------------------------------------------------------


def _cell(column: Column, value: Any) -> Any:
    """One cell as data; ValueError with a Chinese message when it cannot be."""
    key = column.key
    if column.many:
        return parse_many(column, value)
    if column.enum:
        return parse_enum(column, value)
    if key in ("visits", "online_depth", "copies"):
        return _integer(value)
    text = "" if value is None else str(value).strip()
    if key == "legal_basis":
        return parse_legal_basis(text)
    if key == "steps":
        return parse_steps(text)
    if key == "charges_fee":
        if text not in ("是", "否"):
            raise ValueError(f"“{text[:10]}”无效，请填“是”或“否”。")
        return text == "是"
    return text


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("须为整数。")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = "" if value is None else str(value).strip()
    if text.isascii() and text.isdigit():  # "²" and "١٠" are digits to str.isdigit()
        return int(text)
    raise ValueError(f"“{text[:20]}”不是整数。")


@dataclass
class ParsedItem:
    code: str
    data: dict[str, Any]
    rows: list[int]  # the spreadsheet row of each handling item, in order
    material_rows: dict[tuple[int, int], int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _fees(cells: dict[str, Any], charges: bool, row: int, problems: list[Problem]):
    if not charges:
        return "none"
    columns = {c.key[5:]: c.header for c in HANDLING_COLUMNS if c.key.startswith("fees.")}
    lines = {key: str(cells.get(header) or "").splitlines() for key, header in columns.items()}
    count = max(len(values) for values in lines.values())
    fees = []
    for index in range(count):
        fee = {
            key: (values[index].strip() if index < len(values) else "") or None
            for key, values in lines.items()
        }
        if fee["amount"] is not None:
            try:
                fee["amount"] = str(Decimal(fee["amount"]))
            except InvalidOperation:
                problems.append(Problem(ITEM_SHEET, row, columns["amount"], "不是金额数字。"))
        fees.append(fee)
    return fees or [{"name": None, "standard": None, "basis": None}]


def parse_rows(item_rows: list[Row], material_rows: list[Row]) -> list[ParsedItem]:
    """Rows grouped into items (in file order); every problem is collected before raising."""
    problems: list[Problem] = []
    items: dict[str, ParsedItem] = {}
    first_values: dict[str, tuple[int, dict[str, Any]]] = {}
    handling_rows: dict[str, tuple[ParsedItem, int]] = {}
    for row in item_rows:
        code = str(row.cells.get("事项编码") or "").strip()
        if not code:
            problems.append(Problem(ITEM_SHEET, row.number, "事项编码", "不能为空。"))
            continue
        if code not in items:
            data: dict[str, Any] = {"result": {}}
            for column in ITEM_COLUMNS:
                try:
                    value = _cell(column, row.cells.get(column.header))
                except ValueError as exc:
                    problems.append(Problem(ITEM_SHEET, row.number, column.header, str(exc)))
                    continue
                if column.key.startswith("result."):
                    data["result"][column.key[7:]] = value
                else:
                    data[column.key] = value
            data["handling_items"] = []
            items[code] = ParsedItem(code, data, [])
            first_values[code] = (
                row.number,
                {c.header: row.cells.get(c.header) for c in ITEM_COLUMNS},
            )
        else:
            first_row, values = first_values[code]
            for header, value in values.items():
                if row.cells.get(header) != value:
                    problems.append(
                        Problem(
                            ITEM_SHEET, row.number, header, f"与第{first_row}行的同一事项不一致。"
                        )
                    )
        parsed = items[code]
        handling: dict[str, Any] = {"materials": []}
        for column in HANDLING_COLUMNS:
            if column.key.startswith("fees."):
                continue
            value = row.cells.get(column.header)
            try:
                if column.key in ("statutory_days", "promised_days"):
                    handling[column.key], note = parse_limit(value)
                    if note:
                        parsed.notes.append(
                            f"{ITEM_SHEET} 第{row.number}行「{column.header}」{note}"
                        )
                    if column.key == "promised_days" and handling[column.key] is None:
                        raise ValueError("承诺时限不能为无期限。")
                else:
                    handling[column.key] = _cell(column, value)
            except ValueError as exc:
                problems.append(Problem(ITEM_SHEET, row.number, column.header, str(exc)))
        handling["visit_reason"] = handling.get("visit_reason") or None
        handling["fees"] = _fees(
            row.cells, handling.pop("charges_fee", False), row.number, problems
        )
        parsed.data["handling_items"].append(handling)
        parsed.rows.append(row.number)
        handling_rows[str(handling.get("code"))] = (parsed, len(parsed.rows) - 1)
    for row in material_rows:
        code = str(row.cells.get("业务办理项编码") or "").strip()
        if code not in handling_rows:
            problems.append(
                Problem(
                    MATERIAL_SHEET,
                    row.number,
                    "业务办理项编码",
                    f"事项表中没有业务办理项“{code[:50]}”。",
                )
            )
            continue
        parsed, index = handling_rows[code]
        material: dict[str, Any] = {}
        for column in MATERIAL_COLUMNS[1:]:
            try:
                material[column.key] = _cell(column, row.cells.get(column.header))
            except ValueError as exc:
                problems.append(Problem(MATERIAL_SHEET, row.number, column.header, str(exc)))
        material["notes"] = material.get("notes") or None
        materials = parsed.data["handling_items"][index]["materials"]
        parsed.material_rows[(index, len(materials))] = row.number
        materials.append(material)
    if problems:
        raise SpreadsheetError(problems)
    return list(items.values())


# -- preview and apply ----------------------------------------------------------------------------

_HEADER_OF = {column.key: column.header for column in (*ITEM_COLUMNS, *HANDLING_COLUMNS)}


def _locate(parsed: ParsedItem, path: str) -> Problem:
    """Where a service error on `path` stands in the spreadsheet."""
    parts = path.split(".")
    if parts[0] == "handling_items" and len(parts) >= 3 and parts[1].isdigit():
        index = int(parts[1])
        row = parsed.rows[index] if index < len(parsed.rows) else parsed.rows[0]
        if parts[2] == "materials" and len(parts) >= 4 and parts[3].isdigit():
            material_row = parsed.material_rows.get((index, int(parts[3])))
            header = next(
                (c.header for c in MATERIAL_COLUMNS if len(parts) > 4 and c.key == parts[4]), None
            )
            return Problem(MATERIAL_SHEET, material_row, header, "")
        key = "fees." + parts[4] if parts[2] == "fees" and len(parts) > 4 else parts[2]
        return Problem(ITEM_SHEET, row, _HEADER_OF.get(key), "")
    key = "result." + parts[1] if parts[0] == "result" and len(parts) > 1 else parts[0]
    return Problem(ITEM_SHEET, parsed.rows[0], _HEADER_OF.get(key), "")


@dataclass
class Plan:
    new: list[tuple[ParsedItem, dict[str, Any]]] = field(default_factory=list)
    changed: list[tuple[ParsedItem, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The version of every item the plan was built from (None: the code was free); applying
    # refuses an item whose version is no longer this one (catalog.operations.imports).
    versions: dict[str, str | None] = field(default_factory=dict)


def plan_import(parsed_items: list[ParsedItem]) -> Plan:
    """What an import would do; raises SpreadsheetError (every rule broken, row by row)."""
    plan, problems = Plan(), []
    codes = [p.code for p in parsed_items]
    existing = {item.code: item for item in db.session.scalars(
        sa.select(ApprovalItem).where(ApprovalItem.code.in_(codes)))}  # fmt: skip
    for parsed in parsed_items:
        item = existing.get(parsed.code)
        plan.notes += parsed.notes
        plan.versions[parsed.code] = editable_version(item) if item is not None else None
        if item is not None:
            _keep_what_the_file_leaves_out(parsed, current_data(item))
        try:
            canonical = check_item_data(parsed.data, item)
        except CatalogValidationError as exc:
            for path, messages in exc.errors.items():
                where = _locate(parsed, path)
                problems.append(Problem(where.sheet, where.row, where.column, " ".join(messages)))
            continue
        listed = canonical["handling_items"][: len(parsed.rows)]  # kept ones have no row
        for handling, row in zip(listed, parsed.rows, strict=True):
            for rule in warnings_for(handling):
                plan.warnings.append(f"{ITEM_SHEET} 第{row}行（{handling['code']}）：{rule.label}")
        if item is None:
            plan.new.append((parsed, canonical))
            continue
        changes = diff(current_data(item), canonical)
        if changes:
            plan.changed.append((parsed, canonical, changes))
        else:
            plan.unchanged.append(parsed.code)
    if problems:
        raise SpreadsheetError(problems)
    return plan


def _keep_what_the_file_leaves_out(parsed: ParsedItem, current: dict[str, Any]) -> None:
    """An import never deletes: handling items missing from the file, and the materials of a
    handling item the materials sheet does not list, stay as they are."""
    listed = {h.get("code") for h in parsed.data["handling_items"]}
    with_materials = {index for index, _position in parsed.material_rows}
    by_code = {h["code"]: h for h in current["handling_items"]}
    for index, handling in enumerate(parsed.data["handling_items"]):
        if index not in with_materials and handling.get("code") in by_code:
            handling["materials"] = by_code[handling["code"]]["materials"]
    kept = [h for h in current["handling_items"] if h["code"] not in listed]
    parsed.data["handling_items"].extend(kept)
