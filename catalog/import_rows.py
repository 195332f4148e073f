"""Rows of a spreadsheet (catalog.spreadsheet_reading) -> item data, one ParsedItem per item:
cells read as bureaus write them, item cells filled down, the handling-item code and the case
type derived where the file has none, materials attached to their handling items. What reading
had to assume is in each item's notes. catalog.importing plans and applies an import."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from catalog.enums import CaseType
from catalog.import_faq import attach_faq
from catalog.import_headers import HANDLING, ITEM_CODE, REQUIRED
from catalog.schemas import MaterialSchema
from catalog.spreadsheet_reading import Problem, Row, SpreadsheetError
from catalog.spreadsheets import (
    ASSUMED,
    ATTACHMENT_COLUMNS,
    EXAMPLE_CODE,
    EXAMPLE_REFUSED,
    FAQ_SHEET,
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


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(column: Column, value: Any) -> Any:
    """One cell as data; ValueError with a Chinese message when it cannot be. An empty cell of
    an element that may be missing (catalog.elements) is None, or [] for a list."""
    key = column.key
    if column.many:
        return parse_many(column, value)
    if _blank(value) and column.header not in REQUIRED[HANDLING]:
        return [] if key in ("legal_basis", "steps") else None
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
    if _blank(value):
        raise ValueError("不能为空。")
    text = "" if isinstance(value, int | float) else str(value).strip()
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


# The item data's key for the elements whose columns the file does not have: an existing item
# keeps its own values of them (an import never deletes); planning takes the key out.
ABSENT = "absent_columns"


@dataclass
class ParsedItem:
    code: str
    data: dict[str, Any]
    rows: list[int]  # the spreadsheet row of each handling item, in order
    material_rows: dict[tuple[int, int], int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sheets: tuple[str, str] = (ITEM_SHEET, MATERIAL_SHEET)  # as the file names them
    faq_rows: list[int] = field(default_factory=list)  # the FAQ sheet's row of each entry
    faq_sheet: str = FAQ_SHEET


def _fees(
    cells: dict[str, Any],
    charges: bool | None,
    row: int,
    problems: list[Problem],
    sheet: str = ITEM_SHEET,
):
    """ "none" (不收费), the fees listed, or None: not provided (是否收费 absent or empty)."""
    columns = {c.key[5:]: c.header for c in HANDLING_COLUMNS if c.key.startswith("fees.")}
    lines = {key: str(cells.get(header) or "").splitlines() for key, header in columns.items()}
    if charges is None:
        if any(lines.values()):
            problems.append(
                Problem(sheet, row, "是否收费", "未填写，但填了收费项目等列：请填“是”或“否”。")
            )
        return None
    if not charges:
        return "none"
    if not any(lines.values()):  # charged, but for what is not said: not a gap the data can hold
        message = "为“是”，但没有填收费项目、收费标准、收费依据：请补上，或留空表示暂未提供。"
        problems.append(Problem(sheet, row, "是否收费", message))
        return None
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
    with every item column empty is a later row of the item above it. Columns the file does
    not have are missing elements (catalog.elements), except the handling-item code and the
    case type, which are derived (said in the notes)."""
    item_sheet = getattr(item_rows, "sheet", ITEM_SHEET)
    material_sheet = getattr(material_rows, "sheet", MATERIAL_SHEET)
    problems: list[Problem] = []
    items: dict[str, ParsedItem] = {}
    first_values: dict[str, tuple[int, dict[str, Any]]] = {}
    note_starts: dict[str, list[int]] = {}  # where each handling item's notes begin
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
            if code == EXAMPLE_CODE:  # the template's example row (catalog.import_template)
                problems.append(Problem(item_sheet, row.number, "事项编码", EXAMPLE_REFUSED))
            data, notes = _item_data(row, item_sheet, problems)
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
        note_starts.setdefault(code, []).append(len(parsed.notes))
        parsed.data["handling_items"].append(_handling(row, item_sheet, parsed.notes, problems))
        parsed.rows.append(row.number)
    absent = _absent_columns(item_rows)
    for parsed in items.values():
        _derive_codes(parsed, item_sheet, note_starts[parsed.code])
        if absent[HANDLING] or absent[ITEM]:
            parsed.data[ABSENT] = absent
    _attach_materials(items, material_rows, material_sheet, problems)
    attach_faq(items, getattr(item_rows, "faq", None), problems)
    if problems:
        raise SpreadsheetError(problems)
    return list(items.values())


ITEM = "item"
_DERIVED = ("code", "case_type")  # handling columns that are derived when absent
_REQUIRED_KEYS = ("code", "case_type", "statutory_days", "promised_days", "visits")


def _absent_columns(item_rows: list[Row]) -> dict[str, list[str]]:
    """The keys of the elements whose columns the file does not have: every row holds a cell
    (maybe empty) for each column its header row has."""
    present = set(item_rows[0].cells) if item_rows else set()
    item = [c.key for c in ITEM_COLUMNS if c.header not in REQUIRED[HANDLING] + tuple(present)]
    handling = [
        "fees" if c.key == "charges_fee" else c.key
        for c in HANDLING_COLUMNS
        if c.header not in present and c.key not in _REQUIRED_KEYS and not c.key.startswith("fees.")
    ]
    return {ITEM: item, HANDLING: handling}


def _item_data(row: Row, sheet: str, problems: list[Problem]) -> tuple[dict[str, Any], list[str]]:
    """The item's own columns, read on its first row, and what reading them assumed."""
    data: dict[str, Any] = {"result": {"name": None, "type": None}}
    notes = []
    for column in ITEM_COLUMNS:
        raw = row.cells.get(column.header)
        try:
            value = _cell(column, raw)
        except ValueError as exc:
            problems.append(Problem(sheet, row.number, column.header, str(exc)))
            continue
        notes += [
            f"{sheet} 第{row.number}行「{column.header}」{note}" for note in _assumed(column, raw)
        ]
        if column.key.startswith("result."):
            data["result"][column.key[7:]] = value
        else:
            data[column.key] = value
    data["handling_items"] = []
    return data, notes


def _handling(row: Row, sheet: str, notes: list[str], problems: list[Problem]) -> dict[str, Any]:
    """One handling item of a row; an empty case type is derived from the promised limit (its
    code, when empty, once the item's rows are all read: _derive_codes)."""
    handling: dict[str, Any] = {"materials": []}
    for column in HANDLING_COLUMNS:
        if column.key.startswith("fees."):
            continue
        value = row.cells.get(column.header)
        try:
            if column.key in ("statutory_days", "promised_days"):
                handling[column.key], note = parse_limit(value)
                if note:
                    notes.append(f"{sheet} 第{row.number}行「{column.header}」{note}")
                if column.key == "promised_days" and handling[column.key] is None:
                    raise ValueError("承诺时限不能为无期限。")
            elif column.key in _DERIVED:
                handling[column.key] = None if _blank(value) else _cell(column, value)
            else:
                handling[column.key] = _cell(column, value)
        except ValueError as exc:
            problems.append(Problem(sheet, row.number, column.header, str(exc)))
    handling["visit_reason"] = handling.get("visit_reason") or None
    handling["fees"] = _fees(
        row.cells, handling.pop("charges_fee", None), row.number, problems, sheet
    )
    promised = handling.get("promised_days")
    if handling.get("case_type") is None and isinstance(promised, int):
        case = CaseType.instant if promised == 0 else CaseType.promised
        handling["case_type"] = case.value
        notes.append(
            f"{sheet} 第{row.number}行「办件类型」未提供，按承诺时限（{promised}个工作日）"
            f"定为{case.label}"
        )
    return handling


def _derive_codes(parsed: ParsedItem, sheet: str, note_starts: list[int]) -> None:
    """Handling items without a code get the item's code and -01, -02, … in row order, skipping
    codes the item's other rows use: the same file always gives the same codes. The note comes
    first among its row's notes."""
    used = {h["code"] for h in parsed.data["handling_items"] if h.get("code")}
    number = inserted = 0
    rows = zip(parsed.data["handling_items"], parsed.rows, note_starts, strict=True)
    for handling, row, start in rows:
        if handling.get("code"):
            continue
        number += 1
        while f"{parsed.code}-{number:02d}" in used:
            number += 1
        handling["code"] = f"{parsed.code}-{number:02d}"
        used.add(handling["code"])
        note = f"{sheet} 第{row}行「业务办理项编码」未提供，按事项编码生成为 {handling['code']}"
        parsed.notes.insert(start + inserted, note)
        inserted += 1


@cache
def _material_defaults() -> dict[str, Any]:
    """What the schema takes for an empty material cell (catalog.schemas.MaterialSchema)."""
    fields = MaterialSchema().fields
    return {
        column.key: fields[column.key].load_default
        for column in MATERIAL_COLUMNS[2:]
        if fields[column.key].load_default is not None
    }


def _attach_materials(
    items: dict[str, ParsedItem], rows: list[Row], sheet: str, problems: list[Problem]
) -> None:
    """Each material row to its handling item: by 业务办理项编码, or by 事项编码 when the item has
    one handling item. An empty cell takes the schema's default, and the notes say so."""
    by_code = {
        handling["code"]: (parsed, index)
        for parsed in items.values()
        for index, handling in enumerate(parsed.data["handling_items"])
    }
    for row in rows:
        target = _material_target(items, by_code, row, sheet, problems)
        if target is None:
            continue
        parsed, index = target
        material: dict[str, Any] = {}
        defaulted = []
        for column in MATERIAL_COLUMNS[1:]:
            value = row.cells.get(column.header)
            if _blank(value) and column.key in _material_defaults():
                default = _material_defaults()[column.key]
                material[column.key] = getattr(default, "value", default)
                label = getattr(default, "label", f"{default}份")
                defaulted.append((column.header, label))
                continue
            try:
                material[column.key] = _cell(column, value)
            except ValueError as exc:
                problems.append(Problem(sheet, row.number, column.header, str(exc)))
        material["notes"] = material.get("notes") or None
        if any(column.header in row.cells for column in ATTACHMENT_COLUMNS):
            material["attachments"] = _file_references(row, sheet, problems)
            if absent_kinds := [c.key for c in ATTACHMENT_COLUMNS if c.header not in row.cells]:
                parsed.data.setdefault(ABSENT, {ITEM: [], HANDLING: []})[FILES] = absent_kinds
        else:  # a file without the columns keeps a material's files (catalog.importing)
            parsed.data.setdefault(ABSENT, {ITEM: [], HANDLING: []})[FILES] = [
                column.key for column in ATTACHMENT_COLUMNS
            ]
        if defaulted:
            parsed.notes.append(
                f"{sheet} 第{row.number}行"
                + "".join(f"「{header}」" for header, _label in defaulted)
                + "未提供，按"
                + "、".join(label for _header, label in defaulted)
                + "计"
            )
        materials = parsed.data["handling_items"][index]["materials"]
        parsed.material_rows[(index, len(materials))] = row.number
        materials.append(material)


FILES = "files"  # in ABSENT: the kinds of file whose column the materials sheet lacks
_FILE_REFERENCE = re.compile(
    r"(?P<name>.*?)\s*[(（]\s*sha256\s*[:：]\s*(?P<hash>[0-9A-Fa-f]{64})\s*[)）]", re.IGNORECASE
)
FILE_REFERENCE_FORMAT = "每行一个文件，写作“文件名 (sha256:64位十六进制)”，如导出文件中那样"


def _file_references(row: Row, sheet: str, problems: list[Problem]) -> list[dict[str, str]]:
    """The files a material row's 空白表格 / 示例样表 cells refer to (catalog.spreadsheets
    writes them); whether the catalog holds each is the service's check."""
    files = []
    for column in ATTACHMENT_COLUMNS:
        value = row.cells.get(column.header)
        for line in ("" if _blank(value) else str(value)).splitlines():
            if not line.strip():
                continue
            match = _FILE_REFERENCE.fullmatch(line.strip())
            if match is None or not match["name"].strip():
                message = f"无法读取“{line.strip()[:80]}”：{FILE_REFERENCE_FORMAT}。"
                problems.append(Problem(sheet, row.number, column.header, message))
                continue
            files.append({"kind": column.key, "sha256": match["hash"].lower(),
                          "filename": match["name"].strip()})  # fmt: skip
    return files


def _material_target(items, by_code, row: Row, sheet: str, problems: list[Problem]):
    """(item, handling item index) a material row names, or None with the problem noted."""
    code = str(row.cells.get("业务办理项编码") or "").strip()
    item_code = str(row.cells.get(ITEM_CODE) or "").strip()
    if code:
        if code not in by_code:
            message = f"事项表中没有业务办理项“{code[:50]}”。"
            problems.append(Problem(sheet, row.number, "业务办理项编码", message))
            return None
        if item_code and by_code[code][0].code != item_code:
            owner = by_code[code][0].code
            message = f"业务办理项“{code[:50]}”属于事项“{owner}”，不是“{item_code[:50]}”。"
            problems.append(Problem(sheet, row.number, ITEM_CODE, message))
            return None
        return by_code[code]
    if not item_code:
        column = "业务办理项编码" if "业务办理项编码" in row.cells else ITEM_CODE
        message = "不能为空：请填业务办理项编码（事项只有一个业务办理项时，也可只填事项编码）。"
        problems.append(Problem(sheet, row.number, column, message))
        return None
    parsed = items.get(item_code)
    if parsed is None:
        message = f"事项表中没有事项“{item_code[:50]}”。"
        problems.append(Problem(sheet, row.number, ITEM_CODE, message))
        return None
    if len(parsed.rows) != 1:
        message = (
            f"事项“{item_code[:50]}”有 {len(parsed.rows)} 个业务办理项，"
            "请填业务办理项编码指明是哪一个。"
        )
        problems.append(Problem(sheet, row.number, "业务办理项编码", message))
        return None
    return parsed, 0
