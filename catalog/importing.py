"""Spreadsheet and CSV files -> rows (read safely: catalog.spreadsheet_reading and
catalog.xlsx_reading) -> item data: normalise, plan what an import would do (nothing is written
here); catalog.operations.imports applies a plan, all or nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from catalog.domain import Conflict
from catalog.drafts import current_data, diff, editable_version
from catalog.extensions import db
from catalog.models import ApprovalItem
from catalog.ratios import warnings_for
from catalog.services import CatalogValidationError, check_item_data
from catalog.spreadsheet_reading import (  # noqa: F401 (the reading's limits, re-exported)
    FILE,
    MAX_MATERIAL_ROWS,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    MAX_UPLOAD_BYTES,
    Problem,
    Row,
    SpreadsheetError,
    read_csv,
    refuse,
)
from catalog.spreadsheets import (
    ASSUMED,
    HANDLING_COLUMNS,
    ITEM_COLUMNS,
    ITEM_SHEET,
    MATERIAL_COLUMNS,
    MATERIAL_SHEET,
    Column,
    parse_enum,
    parse_legal_basis,
    parse_limit,
    parse_many,
    parse_steps,
)
from catalog.xlsx_reading import read_xlsx


class ImportConflict(Conflict):
    """Items changed since the preview was made; nothing was imported. `codes` names them."""

    def __init__(self, codes: list[str]):
        self.codes = codes
        super().__init__(
            f"预览之后，以下事项已被他人修改：{'、'.join(codes[:20])}"
            + ("等" if len(codes) > 20 else "")
            + "。本次未导入任何内容；请查看最新预览，确认后再导入。"
        )


# -- files -> rows ------------------------------------------------------------------------------


def read_file(
    filename: str,
    content: bytes,
    materials: bytes | None = None,
    mapping: dict[str, str] | None = None,
) -> tuple[list[Row], list[Row]]:
    """(handling-item rows, material rows) of an uploaded file, by its extension: an xlsx
    (catalog.xlsx_reading) or a CSV with an optional CSV of materials. `mapping` places the
    headers seed/import_headers.yaml does not know (catalog.import_headers.read_mapping)."""
    if len(content) > MAX_UPLOAD_BYTES or (materials and len(materials) > MAX_UPLOAD_BYTES):
        raise refuse(FILE, f"文件超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB。")
    if filename.lower().endswith(".xlsx"):
        return read_xlsx(content, mapping)
    if filename.lower().endswith(".csv"):
        return read_csv(content, materials, mapping)
    raise refuse(FILE, "只支持 .xlsx 和 .csv 文件。")


# -- rows -> item data ----------------------------------------------------------------------------


def _cell(column: Column, value: Any) -> Any:
    """One cell as data; ValueError with a Chinese message when it cannot be."""
    key = column.key
    if column.many:
        return parse_many(column, value)
    if column.enum:
        return parse_enum(column, value)
    if key == "visits":
        return _visits(value)
    if key in ("online_depth", "copies"):
        return _integer(value)
    text = "" if value is None else str(value).strip()
    if key == "legal_basis":
        return parse_legal_basis(text)
    if key == "steps":
        return parse_steps(text)
    if key == "charges_fee":
        if text not in FEE_WORDS:
            raise ValueError(f"“{text[:10]}”无效，请填“是”或“否”（或收费、不收费、免费）。")
        return FEE_WORDS[text]
    return text


FEE_WORDS = {"是": True, "收费": True, "否": False, "不收费": False, "免费": False}
_VISITS = re.compile(r"^([0-9]+|[零一二两三四五])次?$")
_NUMERALS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


def _visits(value: Any) -> int:
    """到现场次数 as staff write it: 0, 0次, 零次, 不见面, 1次, 一次."""
    text = "" if value is None or isinstance(value, int | float) else str(value).strip()
    if text in ("不见面", "零跑动", "无需到现场"):
        return 0
    match = _VISITS.match(text.replace(" ", ""))
    if match:
        number = match.group(1)
        return _NUMERALS[number] if number in _NUMERALS else int(number)
    return _integer(value)


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
    sheets: tuple[str, str] = (ITEM_SHEET, MATERIAL_SHEET)  # as the file names them


def _fees(
    cells: dict[str, Any], charges: bool, row: int, problems: list[Problem], sheet: str = ITEM_SHEET
):
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
                problems.append(Problem(sheet, row, columns["amount"], "不是金额数字。"))
        fees.append(fee)
    return fees or [{"name": None, "standard": None, "basis": None}]


def _assumed(column: Column, value: Any) -> list[str]:
    """What reading the cell had to assume (a short form read as one member of several)."""
    table = ASSUMED.get(column.enum) if column.enum else None
    if not table or value is None:
        return []
    parts = re.split(r"[、,，;；\n]", str(value)) if column.many else [str(value)]
    return [f"“{p.strip()}”按{table[p.strip()]}计" for p in parts if p.strip() in table]


def parse_rows(item_rows: list[Row], material_rows: list[Row]) -> list[ParsedItem]:
    """Rows grouped into items (in file order); every problem is collected before raising.
    An item column left empty on an item's later rows takes the value of its first row; a row
    with every item column empty is a later row of the item above it."""
    item_sheet = getattr(item_rows, "sheet", ITEM_SHEET)
    material_sheet = getattr(material_rows, "sheet", MATERIAL_SHEET)
    problems: list[Problem] = []
    items: dict[str, ParsedItem] = {}
    first_values: dict[str, tuple[int, dict[str, Any]]] = {}
    handling_rows: dict[str, tuple[ParsedItem, int]] = {}
    previous = ""
    for row in item_rows:
        code = str(row.cells.get("事项编码") or "").strip()
        if (
            not code
            and previous
            and all(row.cells.get(c.header) in (None, "") for c in ITEM_COLUMNS)
        ):  # a later row of the item above, its item cells left empty (merged, then CSV)
            code = previous
        previous = code
        if not code:
            problems.append(Problem(item_sheet, row.number, "事项编码", "不能为空。"))
            continue
        if code not in items:
            data: dict[str, Any] = {"result": {}}
            notes = []
            for column in ITEM_COLUMNS:
                raw = row.cells.get(column.header)
                try:
                    value = _cell(column, raw)
                except ValueError as exc:
                    problems.append(Problem(item_sheet, row.number, column.header, str(exc)))
                    continue
                notes += [
                    f"{item_sheet} 第{row.number}行「{column.header}」{note}"
                    for note in _assumed(column, raw)
                ]
                if column.key.startswith("result."):
                    data["result"][column.key[7:]] = value
                else:
                    data[column.key] = value
            data["handling_items"] = []
            items[code] = ParsedItem(
                code, data, [], notes=notes, sheets=(item_sheet, material_sheet)
            )
            first_values[code] = (
                row.number,
                {c.header: row.cells.get(c.header) for c in ITEM_COLUMNS},
            )
        else:
            first_row, values = first_values[code]
            for header, value in values.items():
                if row.cells.get(header) in (None, ""):  # filled only on the item's first row
                    row.cells[header] = value
                elif row.cells.get(header) != value:
                    problems.append(
                        Problem(
                            item_sheet, row.number, header, f"与第{first_row}行的同一事项不一致。"
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
                            f"{item_sheet} 第{row.number}行「{column.header}」{note}"
                        )
                    if column.key == "promised_days" and handling[column.key] is None:
                        raise ValueError("承诺时限不能为无期限。")
                else:
                    handling[column.key] = _cell(column, value)
            except ValueError as exc:
                problems.append(Problem(item_sheet, row.number, column.header, str(exc)))
        handling["visit_reason"] = handling.get("visit_reason") or None
        handling["fees"] = _fees(
            row.cells, handling.pop("charges_fee", False), row.number, problems, item_sheet
        )
        parsed.data["handling_items"].append(handling)
        parsed.rows.append(row.number)
        handling_rows[str(handling.get("code"))] = (parsed, len(parsed.rows) - 1)
    for row in material_rows:
        code = str(row.cells.get("业务办理项编码") or "").strip()
        if code not in handling_rows:
            problems.append(
                Problem(
                    material_sheet,
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
                problems.append(Problem(material_sheet, row.number, column.header, str(exc)))
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
            return Problem(parsed.sheets[1], material_row, header, "")
        key = "fees." + parts[4] if parts[2] == "fees" and len(parts) > 4 else parts[2]
        return Problem(parsed.sheets[0], row, _HEADER_OF.get(key), "")
    key = "result." + parts[1] if parts[0] == "result" and len(parts) > 1 else parts[0]
    return Problem(parsed.sheets[0], parsed.rows[0], _HEADER_OF.get(key), "")


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
                plan.warnings.append(
                    f"{parsed.sheets[0]} 第{row}行（{handling['code']}）：{rule.label}"
                )
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
