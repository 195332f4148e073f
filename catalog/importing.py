"""Spreadsheet and CSV files -> rows (read safely: catalog.spreadsheet_reading and
catalog.xlsx_reading) -> item data (catalog.import_rows) -> a plan of what an import would do,
with each item's gaps (nothing is written here); catalog.operations.imports applies a plan, all
or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from catalog.domain import Conflict
from catalog.drafts import current_data, diff, editable_version
from catalog.elements import Gaps, gaps
from catalog.extensions import db
from catalog.import_faq import FAQ_KEY
from catalog.import_faq import locate as locate_faq
from catalog.import_headers import HANDLING
from catalog.import_rows import ABSENT, FILES, ITEM, ParsedItem, parse_rows  # noqa: F401 (re-exported)
from catalog.models import ApprovalItem
from catalog.ratios import editor_warnings
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
    ATTACHMENT_COLUMNS,
    HANDLING_COLUMNS,
    ITEM_COLUMNS,
    MATERIAL_COLUMNS,
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


# -- preview and apply ----------------------------------------------------------------------------

_HEADER_OF = {column.key: column.header for column in (*ITEM_COLUMNS, *HANDLING_COLUMNS)}


def _locate(parsed: ParsedItem, path: str) -> Problem:
    """Where a service error on `path` stands in the spreadsheet."""
    parts = path.split(".")
    if parts[0] == FAQ_KEY:
        return locate_faq(parsed, parts)
    if parts[0] == "handling_items" and len(parts) >= 3 and parts[1].isdigit():
        index = int(parts[1])
        row = parsed.rows[index] if index < len(parsed.rows) else parsed.rows[0]
        if parts[2] == "materials" and len(parts) >= 4 and parts[3].isdigit():
            material_row = parsed.material_rows.get((index, int(parts[3])))
            header = next(
                (c.header for c in MATERIAL_COLUMNS if len(parts) > 4 and c.key == parts[4]), None
            )
            if len(parts) > 5 and parts[4] == "attachments" and parts[5].isdigit():
                header = _file_header(parsed, index, int(parts[3]), int(parts[5]))
            return Problem(parsed.sheets[1], material_row, header, "")
        key = "fees." + parts[4] if parts[2] == "fees" and len(parts) > 4 else parts[2]
        return Problem(parsed.sheets[0], row, _HEADER_OF.get(key), "")
    key = "result." + parts[1] if parts[0] == "result" and len(parts) > 1 else parts[0]
    return Problem(parsed.sheets[0], parsed.rows[0], _HEADER_OF.get(key), "")


def _file_header(parsed: ParsedItem, index: int, position: int, file: int) -> str | None:
    """The column (空白表格 / 示例样表) of a material's file a service error names."""
    try:
        kind = parsed.data["handling_items"][index]["materials"][position]["attachments"][file]
        return next(c.header for c in ATTACHMENT_COLUMNS if c.key == kind["kind"])
    except (IndexError, KeyError, TypeError, StopIteration):
        return None


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
    # What each new or changed item lacks (catalog.elements): listed, not refused.
    gaps: dict[str, Gaps] = field(default_factory=dict)


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
        absent = parsed.data.pop(ABSENT, None) or {ITEM: [], HANDLING: []}
        if item is not None:
            _keep_what_the_file_leaves_out(parsed, current_data(item), absent)
        try:
            canonical = check_item_data(parsed.data, item)
        except CatalogValidationError as exc:
            for path, messages in exc.errors.items():
                where = _locate(parsed, path)
                problems.append(Problem(where.sheet, where.row, where.column, " ".join(messages)))
            continue
        listed = canonical["handling_items"][: len(parsed.rows)]  # kept ones have no row
        for handling, row in zip(listed, parsed.rows, strict=True):
            for rule in editor_warnings(handling):
                plan.warnings.append(
                    f"{parsed.sheets[0]} 第{row}行（{handling['code']}）：{rule.label}"
                )
        if item is None:
            plan.new.append((parsed, canonical))
            plan.gaps[parsed.code] = gaps(canonical)
            continue
        changes = diff(current_data(item), canonical)
        if changes:
            plan.changed.append((parsed, canonical, changes))
            plan.gaps[parsed.code] = gaps(canonical)
        else:
            plan.unchanged.append(parsed.code)
    if problems:
        raise SpreadsheetError(problems)
    return plan


def _keep_files(materials: list[dict], current: list[dict], kinds: list[str]) -> None:
    """The files of the kinds whose column the materials sheet lacks stay with the material of
    the same name (the first one not matched yet)."""
    unmatched = list(current)
    for material in materials:
        same = next((m for m in unmatched if m["name"] == material.get("name")), None)
        listed = [f for f in material.get("attachments") or [] if f["kind"] not in kinds]
        if same is not None:
            unmatched.remove(same)
            listed += [f for f in same.get("attachments", []) if f["kind"] in kinds]
        material["attachments"] = listed  # in kind order once loaded (schemas.MaterialSchema)


def _keep_what_the_file_leaves_out(
    parsed: ParsedItem, current: dict[str, Any], absent: dict[str, list[str]]
) -> None:
    """An import never deletes: handling items missing from the file, the materials of a
    handling item the materials sheet does not list, and the elements of the columns the file
    does not have (`absent`) stay as they are. An empty cell in a column the file has is a
    missing element."""
    if FAQ_KEY not in parsed.data:  # no FAQ sheet, or the item not on it
        parsed.data[FAQ_KEY] = current.get(FAQ_KEY, [])
    for key in absent[ITEM]:
        if key.startswith("result."):
            parsed.data["result"][key[7:]] = (current.get("result") or {}).get(key[7:])
        else:
            parsed.data[key] = current[key]
    listed = {h.get("code") for h in parsed.data["handling_items"]}
    with_materials = {index for index, _position in parsed.material_rows}
    by_code = {h["code"]: h for h in current["handling_items"]}
    for index, handling in enumerate(parsed.data["handling_items"]):
        if handling.get("code") not in by_code:
            continue
        kept = by_code[handling["code"]]
        for key in absent[HANDLING]:
            handling[key] = kept.get(key)  # (an unset online_url is left out of the data)
        if index not in with_materials:
            handling["materials"] = kept["materials"]
        elif absent.get(FILES):
            _keep_files(handling["materials"], kept["materials"], absent[FILES])
    kept = [h for h in current["handling_items"] if h["code"] not in listed]
    parsed.data["handling_items"].extend(kept)
