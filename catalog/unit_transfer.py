"""The 办理窗口 sheet of a staff workbook (catalog.spreadsheets.UNIT_COLUMNS): read with the
same bounds as the items' sheets (catalog.xlsx_reading), planned against the windows saved
(what would be created or changed, each refused cell named in Chinese) and applied all or
nothing through catalog.operations.units. A workbook without the sheet imports exactly as
before; a CSV has none."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from catalog.domain import Invalid
from catalog.import_headers import HEADER_SEARCH_ROWS
from catalog.models import Role, User
from catalog.operations.actor import Actor
from catalog.operations.units import FIELDS, check_unit_data, save_unit, unit_data, units_by_name
from catalog.spreadsheet_reading import (
    MAX_FILE_ELEMENTS,
    MAX_HEADER_COLUMNS,
    Problem,
    Row,
    SpreadsheetError,
    Table,
    finish,
    refuse,
)
from catalog.spreadsheets import UNIT_COLUMNS, UNIT_SHEET

# The sheet's own reader is xlsx_reading's: the package's checks and the streamed sheet.
from catalog.xlsx_reading import _open_package, _SheetReader

MAX_UNIT_ROWS = 500  # a bureau has a few dozen units
HEADER_OF = {column.key: column.header for column in UNIT_COLUMNS}
FIELD_OF = {column.header: column.key for column in UNIT_COLUMNS}
NAME_HEADER = HEADER_OF["name"]


class UnitTable(Table):
    """The 办理窗口 sheet as it is read: its header row (the first of HEADER_SEARCH_ROWS with a
    单位名称 column) may hold only the sheet's own columns, each once; any of them but 单位名称
    may be left out (those windows' fields then stay as they are)."""

    def __init__(self) -> None:
        super().__init__(UNIT_SHEET, "units", MAX_UNIT_ROWS)
        self.present: set[str] = set()

    def no_header(self) -> SpreadsheetError:
        return refuse(
            self.sheet,
            f"前 {HEADER_SEARCH_ROWS} 行中没有表头：表头须含“{NAME_HEADER}”列"
            f"（各列：{'、'.join(FIELD_OF)}）。",
        )

    def scan(self, number: int, values: dict[int, Any]) -> None:
        if number > HEADER_SEARCH_ROWS:
            raise self.no_header()
        filled = {i: str(v).strip() for i, v in values.items() if v is not None and str(v).strip()}
        if filled and max(filled) >= MAX_HEADER_COLUMNS:
            raise self.too_wide(number)
        if NAME_HEADER not in filled.values():
            return
        problems, placed = [], {}
        for index, text in sorted(filled.items()):
            key = FIELD_OF.get(text)
            if key is None:
                problems.append(
                    Problem(self.sheet, number, text[:30],
                            f"无法识别的列：本表的列为{'、'.join(FIELD_OF)}。")
                )  # fmt: skip
            elif key in placed:
                problems.append(Problem(self.sheet, number, text, "重复的列，只能保留一列。"))
            else:
                placed[key] = index
        if problems:
            raise SpreadsheetError(problems)
        self.width = max(placed.values()) + 1
        self.names = [""] * self.width
        for key, index in placed.items():
            self.names[index] = key
        self.present = set(placed)


def read_units(filename: str, content: bytes) -> tuple[list[Row], set[str]] | None:
    """The 办理窗口 sheet's rows and the fields it has columns for; None when the file is not
    an xlsx or has no sheet of that name. Refuses (SpreadsheetError) like the items' sheets."""
    if not filename.lower().endswith(".xlsx"):
        return None
    package = _open_package(content)
    try:
        part = package.worksheet_parts().get(UNIT_SHEET)
        if part is None:
            return None
        budget = [MAX_FILE_ELEMENTS]
        table = UnitTable()
        reader = _SheetReader(table, package.string_table(budget), package.wb, budget)
        reader.read(package.zip, part)
        table.done()
    finally:
        package.zip.close()
    finish([table])
    return table.rows, table.present


def _text(value: Any) -> str | None:
    """A cell as a window's text: a number as written (12328), a date as ISO."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


@dataclass
class UnitPlan:
    """What importing the sheet would do; `rows` (row number, window data) and `versions`
    (name -> version seen, None: no record) are kept with the preview."""

    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[dict[str, Any], dict[str, tuple]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    versions: dict[str, int | None] = field(default_factory=dict)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.new) + len(self.changed)

    def kept(self) -> dict[str, Any]:
        """What the apply step needs, as JSON (catalog.uploads keeps it with the preview)."""
        return {"rows": [[number, data] for number, data in self.rows], "versions": self.versions}


def plan_units(rows: list[tuple[int, dict[str, Any]]]) -> UnitPlan:
    """Each row's window checked (catalog.operations.units) and compared with the saved one;
    SpreadsheetError lists every refused cell. A field the sheet has no column for (absent from
    a row's data) keeps the saved value; an empty cell is an unknown field (暂未提供)."""
    plan, problems, seen = UnitPlan(), [], {}
    saved = units_by_name([str(data.get("name") or "").strip() for _number, data in rows])
    for number, data in rows:
        name = str(data.get("name") or "").strip()
        unit = saved.get(name)
        current = unit_data(unit) if unit else dict.fromkeys(FIELDS)
        window = {key: data[key] if key in data else current[key] for key in FIELDS}
        try:
            checked = check_unit_data({"name": name, **window})
        except Invalid as refusal:
            for key, messages in refusal.errors.items():
                problems.append(Problem(UNIT_SHEET, number, HEADER_OF[key], " ".join(messages)))
            continue
        if name in seen:
            problems.append(
                Problem(
                    UNIT_SHEET, number, NAME_HEADER, f"与第{seen[name]}行重复：每个单位只能有一行。"
                )
            )
            continue
        seen[name] = number
        plan.rows.append((number, {"name": name, **window}))
        plan.versions[name] = unit.version if unit else None
        changes = {
            key: (current[key], checked[key]) for key in FIELDS if current[key] != checked[key]
        }
        if unit is None:
            plan.new.append(checked)
        elif changes:
            plan.changed.append((checked, changes))
        else:
            plan.unchanged.append(name)
    if problems:
        raise SpreadsheetError(problems)
    return plan


def sheet_plan(read: tuple[list[Row], set[str]] | None) -> UnitPlan | None:
    """The plan of a sheet as read_units gives it (None: no sheet)."""
    if read is None:
        return None
    rows, present = read
    return plan_units(
        [
            (row.number, {key: _text(value) for key, value in row.cells.items() if key in present})
            for row in rows
        ]
    )


def kept_plan(kept: dict[str, Any] | None) -> tuple[UnitPlan | None, dict[str, Any]]:
    """The plan again, over what is saved now, from what the preview kept; and the versions
    the preview saw."""
    if not kept:
        return None, {}
    rows = [(int(number), dict(data)) for number, data in kept["rows"]]
    return plan_units(rows), dict(kept["versions"])


def apply_units(
    plan: UnitPlan, *, actor: User | Actor | str, source: str, preview_versions: dict[str, Any]
) -> None:
    """Write every new and changed window, audited, never over a version newer than the one the
    preview saw (UnitConflict); only reviewers and admins (and commands) may."""
    if not plan.writes:
        return
    actor = Actor.of(actor)
    actor.require(
        Role.reviewer,
        f"本文件的“{UNIT_SHEET}”表新增或修改了 {plan.writes} 个单位的窗口，只有审核人员和管理员"
        f"可以导入；请删除该表后再导入事项，或请审核人员导入。数据库未做任何修改。",
    )
    for data in [*plan.new, *(data for data, _changes in plan.changed)]:
        save_unit(
            data,
            actor=actor,
            reason=f"导入 {source}",
            expected_version=preview_versions.get(data["name"]),
        )
