"""An uploaded spreadsheet -> rows, keeping only what the file really holds: the limits, the
table every reader fills (header first, then rows checked and counted before they are kept),
and CSV. The xlsx reader is catalog.xlsx_reading; catalog.importing.read_file picks one.

Nothing a file says about itself is trusted. A CSV is read a record at a time, a record of too
many cells is refused while the csv module builds it, and any line end is accepted (CRLF, LF,
or CR alone). Memory follows the cells kept (docs/security.md, "Memory").
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_right
from collections.abc import Iterator, Set
from dataclasses import dataclass
from typing import Any

from openpyxl.utils.cell import get_column_letter

from catalog.domain import DomainError
from catalog.import_headers import (
    HANDLING,
    HEADER_SEARCH_ROWS,
    ITEM_KINDS,
    MATERIALS,
    MAX_HEADER_CHARS,
    Placed,
    classify,
    missing_required,
    place,
    wanted,
)
from catalog.public.export import FORMULA_PREFIXES
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from catalog.spreadsheets import (
    FAQ_HEADERS,
    ITEM_SHEET,
    MATERIAL_HEADERS,
    MATERIAL_SHEET,
    ROW_HEADERS,
)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # an xlsx is a zip: refuse one that unpacks to more
MAX_PARTS = 1_000  # members of the zip; Excel writes a dozen, a few hundred with pictures
# The parts openpyxl parses whole (manifest, workbook, relationships, styles), together: a
# tree of objects ten times their size, at about 0.5 s a megabyte. Excel's are a few dozen KB.
MAX_WHOLE_PARTS_BYTES = 1024 * 1024
MAX_ROWS = 5_000
MAX_MATERIAL_ROWS = 50_000
MAX_FAQ_ROWS = 20_000  # 常见问题: up to 30 an item (catalog.schemas)
MAX_SHEET_ROWS = 1_048_576  # Excel's own limit, blank rows included
MAX_SHEET_COLUMNS = 16_384  # Excel's own limit
MAX_HEADER_COLUMNS = 100  # the template has 31 and 8
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_RECORD_COMMAS = 100_000  # in one CSV record: far beyond any row of the template
# A file at both row limits fits: every cell a distinct shared string (555,000), and the XML
# elements of all its parts (1.7 million as export writes it, inline; as many with a table of
# shared strings unless nearly every cell is distinct). Reading one element costs about 1 µs.
MAX_SHARED_STRINGS = (
    MAX_ROWS * len(ROW_HEADERS)
    + MAX_MATERIAL_ROWS * len(MATERIAL_HEADERS)
    + MAX_FAQ_ROWS * len(FAQ_HEADERS)
)
MAX_FILE_ELEMENTS = 2_000_000
MAX_PROBLEMS = 100
UNKNOWN_HEADER = "无法识别的表头：请在映射中指定字段或忽略。"
MAX_SAMPLES = 3  # values shown under an unknown column, so staff can tell what it holds
SAMPLE_CHARS = 30


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


@dataclass(frozen=True)
class UnknownHeader(Problem):
    """A column nothing recognises: `column` is its header shortened for messages, `header`
    the whole of it (what a mapping names), with its index from 0 and the first values under
    it (shortened to SAMPLE_CHARS)."""

    index: int = 0
    header: str = ""
    samples: tuple[str, ...] = ()

    @property
    def letter(self) -> str:
        """The column as Excel names it: A, B, … Z, AA (a CSV's column by its number)."""
        return get_column_letter(self.index + 1)


class SpreadsheetError(DomainError):
    """The file cannot be imported; `problems` says where and why, row by row."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


FILE = "文件"  # where a problem of the whole file is


def refuse(sheet: str, message: str, row: int | None = None) -> SpreadsheetError:
    return SpreadsheetError([Problem(sheet, row, None, message)])


@dataclass
class Row:
    number: int
    cells: dict[str, Any]


class TooLong:
    """A cell whose text passed MAX_CELL_CHARS while it was read; the text was not kept."""

    def __str__(self) -> str:
        return "（过长的单元格）"


TOO_LONG = TooLong()


def _unescape(value: Any) -> Any:
    """Trim text, and take back the ' that export puts before a formula-like cell."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value.startswith("'") and value[1:2] in FORMULA_PREFIXES:
        return value[1:]
    return value


def _sample(value: Any) -> str:
    """A cell as the mapping step shows it: one line of printable text, shortened."""
    text = str(_unescape(value))[: SAMPLE_CHARS * 4]
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= SAMPLE_CHARS else text[: SAMPLE_CHARS - 1] + "…"


class Rows(list):
    """The rows of one sheet, and the sheet's name (as problems name it). The handling-item
    sheet's rows carry the file's FAQ sheet as `faq` (None: the file has none; only an xlsx
    has one), so that a reader keeps its two results (catalog.import_faq)."""

    def __init__(self, sheet: str, rows: list[Row] = ()):
        super().__init__(rows)
        self.sheet = sheet
        self.faq: Rows | None = None


class Table:
    """One sheet as it is read: the rows above the header (searched for the header row, the
    first of HEADER_SEARCH_ROWS that holds the sheet's columns), then each row with a value
    under a header, checked and counted before it is kept. Without a kind, a probe: it only
    finds which kind of sheet this is (catalog.import_headers.classify). A header row with
    columns nothing recognises is refused once the rows below it have given each such column
    MAX_SAMPLES values (or have run out): only those values are kept, not the rows."""

    def __init__(
        self,
        sheet: str,
        kind: str | None,
        limit: int,
        mapping: dict[str, str] | None = None,
        kinds: tuple[str, ...] = ITEM_KINDS,
    ):
        self.sheet, self.kind, self.limit, self.mapping = sheet, kind, limit, mapping
        self.probing, self.kinds = kind is None, kinds  # a probe looks for one of `kinds`
        self.names: list[str] | None = None  # the field by column, "" where none or ignored
        # Columns read from each row: up to the last one with a header (above the header,
        # every column; a cell past MAX_HEADER_COLUMNS is refused as soon as it is read; a
        # probe reads no further than that).
        self.width = MAX_HEADER_COLUMNS if self.probing else MAX_SHEET_COLUMNS
        self.rows: list[Row] = []
        self.problems: list[Problem] = []
        self.sampling: dict[int, list[str]] | None = None  # unknown column -> values under it
        self.sampled = 0  # rows read for their samples
        self.refused: tuple[int, list[tuple[int, str]], list[Problem]] = (0, [], [])

    def too_wide(self, number: int) -> SpreadsheetError:
        return refuse(self.sheet, f"表头超过 {MAX_HEADER_COLUMNS} 列。请使用下载的模板。", number)

    def no_header(self) -> SpreadsheetError:
        where = "请使用下载的模板"  # a 双公示 file
        if self.kind in ITEM_KINDS:
            where = "各列的写法见 seed/import_headers.yaml"
        return refuse(
            self.sheet,
            f"前 {HEADER_SEARCH_ROWS} 行中没有表头：表头须含{wanted(self.kind)}等列（{where}）。",
        )

    def scan(self, number: int, values: dict[int, Any]) -> None:
        """A row above the header: it is the header when it holds the sheet's columns."""
        if number > HEADER_SEARCH_ROWS:
            if self.probing:
                return
            raise self.no_header()
        filled = {i: str(v).strip() for i, v in values.items() if v is not None and str(v).strip()}
        if filled and max(filled) >= MAX_HEADER_COLUMNS:
            raise self.too_wide(number)
        if self.probing:
            self.kind = classify(filled, self.mapping, self.kinds)
            return
        placed = place(self.kind, filled, self.mapping)
        if placed.holds(self.kind):
            too_long = {i for i, value in values.items() if isinstance(value, TooLong)}
            self.header(number, placed, too_long)

    def header(self, number: int, placed: Placed, too_long: Set[int] = frozenset()) -> None:
        """The header row: every column placed (or ignored by the mapping), no field twice,
        every required one there (catalog.import_headers.REQUIRED; the others may be absent);
        otherwise every such column is named and no row is kept. A column nothing recognises
        is named with the first values under it (the rows are read for them, then refused);
        one whose header is too long to be mapped (MAX_HEADER_CHARS) is refused at once."""
        mappable = [
            (index, text)
            for index, text in placed.unknown
            if index not in too_long and len(text) <= MAX_HEADER_CHARS
        ]
        unmappable = [
            Problem(
                self.sheet,
                number,
                text[:30],
                f"{get_column_letter(index + 1)}列的表头超过 {MAX_HEADER_CHARS} 个字符，"
                "无法指定字段：请缩短表头后重新上传。",
            )
            for index, text in placed.unknown
            if (index, text) not in mappable
        ]
        problems = [
            Problem(
                self.sheet,
                number,
                second[:30],
                f"与「{first[:30]}」同为“{field}”，只能保留一列。",
            )
            for field, first, second in placed.twice
        ]
        missing = missing_required(self.kind, placed)
        if missing:
            problems.append(
                Problem(self.sheet, number, None, f"缺少必填列：{'、'.join(missing)}。")
            )
        if mappable and not unmappable:  # read on for the samples (catalog.staff.transfer)
            self.refused = (number, mappable, problems)
            self.sampling = {index: [] for index, _text in mappable}
            self.width = max([*placed.fields, *self.sampling]) + 1
            self.names = [""] * self.width
            return
        problems = unmappable + problems
        if problems:
            raise SpreadsheetError(problems)
        width = max(placed.fields) + 1
        self.names = [placed.fields.get(i) or "" for i in range(width)]
        self.width = width

    def sample(self, values: dict[int, Any]) -> None:
        """A row under a header with unknown columns: their first values, then the refusal."""
        if all(value in (None, "") for value in values.values()):
            return
        self.sampled += 1
        for index, found in self.sampling.items():
            value = values.get(index)
            if len(found) < MAX_SAMPLES and value not in (None, "") and (text := _sample(value)):
                found.append(text)
        enough = all(len(found) >= MAX_SAMPLES for found in self.sampling.values())
        if enough or self.sampled >= self.limit:
            raise self.unplaced()

    def unplaced(self) -> SpreadsheetError:
        """The header's problems, each unknown column with the values found under it."""
        number, unknown, problems = self.refused
        named = [
            UnknownHeader(
                self.sheet,
                number,
                text[:30],
                UNKNOWN_HEADER,
                index=index,
                header=text,
                samples=tuple(self.sampling[index]),
            )
            for index, text in unknown
        ]
        return SpreadsheetError([*named, *problems])

    def done(self) -> None:
        """The sheet has been read: refused when no header was found, or when it has columns
        nothing recognises (read to the end for their samples)."""
        if self.names is None:
            raise self.no_header()
        if self.sampling is not None:
            raise self.unplaced()

    def fill_merged(self, ranges: list[tuple[int, int, int, int]]) -> None:
        """Cells Excel merged down several rows (min_col, min_row, max_col, max_row; columns
        from 1): the rows below the top one take its value where they have none. Merged
        ranges do not overlap, so the work is bounded by the cells kept; overlapping ones are
        refused."""
        numbers = [row.number for row in self.rows]
        by_number = {row.number: row for row in self.rows}
        budget = len(self.rows) * len(self.names or ())
        for min_col, min_row, max_col, max_row in ranges:
            top = by_number.get(min_row)
            if top is None or max_row <= min_row:
                continue
            below = [by_number[n] for n in numbers[bisect_right(numbers, min_row) :
                                                   bisect_right(numbers, max_row)]]  # fmt: skip
            for name in self.names[min_col - 1 : max_col]:
                budget -= len(below)
                if budget < 0:
                    raise refuse(self.sheet, "合并单元格相互重叠，无法读取。")
                if not name:
                    continue
                for row in below:
                    if row.cells.get(name) in (None, ""):
                        row.cells[name] = top.cells.get(name)

    def add(self, number: int, values: dict[int, Any]) -> None:
        if self.sampling is not None:
            self.sample(values)
            return
        if all(value in (None, "") for value in values.values()):
            return
        cells = {
            name: _unescape(values.get(index)) for index, name in enumerate(self.names) if name
        }
        if all(value in (None, "") for value in cells.values()):
            return
        if len(self.rows) >= self.limit:
            raise refuse(self.sheet, f"行数超过上限 {self.limit} 行。")
        for name, value in cells.items():
            if value is TOO_LONG or (isinstance(value, str) and len(value) > MAX_CELL_CHARS):
                self.problem(number, name, f"超过 {MAX_CELL_CHARS} 个字符（单元格的上限）。")
                cells[name] = None
            elif isinstance(value, str) and has_control_characters(value):
                self.problem(number, name, CONTROL_CHARACTERS_MESSAGE)
        self.rows.append(Row(number, cells))

    def problem(self, row: int, column: str, message: str) -> None:
        self.problems.append(Problem(self.sheet, row, column, message))
        if len(self.problems) >= MAX_PROBLEMS:
            more = Problem(self.sheet, None, None, f"问题过多，只列出前 {MAX_PROBLEMS} 处。")
            raise SpreadsheetError([*self.problems, more])


def finish(tables: list[Table]) -> tuple[list[Row], ...]:
    problems = [problem for table in tables for problem in table.problems]
    if problems:
        raise SpreadsheetError(problems)
    return tuple(table.rows for table in tables)


# -- CSV ----------------------------------------------------------------------------------------


def _decode_csv(content: bytes, sheet: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding).removeprefix("\ufeff")  # GB18030's BOM too
        except UnicodeDecodeError:
            continue
    raise refuse(sheet, "无法识别文件编码，请保存为 UTF-8 或 GB18030 的 CSV。")


# One physical line at a time, its end kept: CRLF, LF, or the old Mac's CR alone.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _records(text: str, sheet: str) -> Iterator[list[str]]:
    """The CSV's records (a quoted cell may span lines). The csv module builds a whole record
    before it returns it, so the commas read since the last one are counted and a record of
    too many cells is refused while it is read; the text itself is not copied."""
    commas = 0

    def lines() -> Iterator[str]:
        nonlocal commas
        for match in _LINE.finditer(text):
            line = match.group()
            commas += line.count(",")
            if commas > MAX_RECORD_COMMAS:
                raise refuse(sheet, f"逗号超过 {MAX_RECORD_COMMAS} 个，列数过多。", number + 1)
            yield line

    # The module's field limit (131,072 characters by default) would stop a long field with no
    # row or column; no field can pass the upload's size, and the table names the cell.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_UPLOAD_BYTES))
    number = 0
    try:
        for record in csv.reader(lines()):
            number, commas = number + 1, 0
            yield record
    except csv.Error:  # not seen since lines are split here and fields may be long: a guard
        raise refuse(sheet, "不是有效的 CSV 文件。", number + 1) from None


def _read_csv_table(content: bytes, table: Table) -> Table:
    number = 0
    for number, record in enumerate(_records(_decode_csv(content, table.sheet), table.sheet), 1):
        if number > MAX_SHEET_ROWS:
            raise refuse(table.sheet, f"行数（含空行）超过 {MAX_SHEET_ROWS} 行。")
        values = dict(enumerate(record[: table.width]))
        if table.names is None:
            table.scan(number, values)
        elif values:
            table.add(number, values)
    table.done()
    return table


def read_csv(
    items: bytes, materials: bytes | None, mapping: dict[str, str] | None = None
) -> tuple[Rows, Rows]:
    tables = [_read_csv_table(items, Table(ITEM_SHEET, HANDLING, MAX_ROWS, mapping))]
    if materials is not None:
        table = Table(MATERIAL_SHEET, MATERIALS, MAX_MATERIAL_ROWS, mapping)
        tables.append(_read_csv_table(materials, table))
    rows = finish(tables)
    return (
        Rows(ITEM_SHEET, rows[0]),
        Rows(MATERIAL_SHEET, rows[1] if len(rows) > 1 else []),
    )


def read_csv_sheet(
    content: bytes, kind: str, sheet: str, mapping: dict[str, str] | None = None
) -> Rows:
    """One CSV of `kind` (UTF-8, with or without its BOM, or GB18030), MAX_ROWS rows at most;
    `sheet` names it in problems."""
    table = _read_csv_table(content, Table(sheet, kind, MAX_ROWS, mapping))
    return Rows(sheet, finish([table])[0])
