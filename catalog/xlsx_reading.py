"""An uploaded xlsx -> rows, reading only the file's real cells, never its declared dimension.

An xlsx is a zip of XML parts, and none of what it says is trusted: a sheet may declare 16,384
columns by a million rows, a zip member may claim any size. The zip's declared sizes and member
count are checked before anything is unpacked (Python's zipfile stops a member at its declared
size); the parts openpyxl parses whole (manifest, workbook, relationships, styles) may be small
only; the shared strings and the two sheets are streamed through expat here, keeping only the
cells under a header and counting rows and XML elements as they come (docs/security.md,
"Memory"). Values are what openpyxl gives with data_only, from its date formats and epochs.
"""

from __future__ import annotations

import io
import re
import zipfile
from abc import ABC, abstractmethod
from typing import Any
from xml.parsers import expat

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import column_index_from_string, range_boundaries
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHARED_STRINGS

from catalog.import_headers import FAQ, HANDLING, HEADER_SEARCH_ROWS, MATERIALS, wanted
from catalog.spreadsheet_reading import (
    FILE,
    MAX_CELL_CHARS,
    MAX_FAQ_ROWS,
    MAX_FILE_ELEMENTS,
    MAX_HEADER_COLUMNS,
    MAX_MATERIAL_ROWS,
    MAX_PARTS,
    MAX_ROWS,
    MAX_SHARED_STRINGS,
    MAX_SHEET_ROWS,
    MAX_UNPACKED_BYTES,
    MAX_WHOLE_PARTS_BYTES,
    TOO_LONG,
    Rows,
    SpreadsheetError,
    Table,
    TooLong,
    finish,
    refuse,
)
from catalog.spreadsheets import MATERIAL_SHEET

UNREADABLE = "无法读取该 xlsx 文件。"
MAX_MERGED_RANGES = 50_000  # merged down several rows, under the header
# Excel writes a character XML cannot hold (a control character) as _xHHHH_, and a literal
# "_x" as _x005F_x: read them as Excel means them, so a control character is seen and refused.
_EXCEL_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")


def _excel_text(text: str) -> str:
    if "_x" not in text:
        return text
    return _EXCEL_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)


class _Stop(Exception):
    """The part holds nothing more this reader needs."""


class _Text:
    """The text of the element being read, kept up to MAX_CELL_CHARS."""

    def __init__(self) -> None:
        self.capturing, self.parts, self.length, self.too_long = False, [], 0, False

    def add(self, data: str) -> None:
        if self.capturing and not self.too_long:
            self.length += len(data)
            if self.length > MAX_CELL_CHARS:
                self.too_long, self.parts = True, []
            else:
                self.parts.append(data)

    def value(self) -> str | TooLong:
        return TOO_LONG if self.too_long else "".join(self.parts)


class _Part(ABC):
    """One part of the zip fed through expat a chunk at a time, into handlers that keep what
    they need: no tree is built. A part with a DOCTYPE is refused (no entity can expand); the
    elements of every part of one file are counted against one budget, MAX_FILE_ELEMENTS."""

    sheet = FILE

    def __init__(self, budget: list[int]):
        self.budget = budget  # elements left, shared by the parts of one file
        self.text = _Text()

    def overspent(self) -> SpreadsheetError:
        return refuse(
            self.sheet,
            f"内容过多（超过 {MAX_FILE_ELEMENTS} 个 XML 元素，含空白但有格式的单元格），"
            "请删除多余的行、列和格式后重试。",
        )

    @abstractmethod
    def start(self, name: str, attrs: dict[str, str]) -> None:
        """An element opens (the shared strings and the sheet reader each keep their own)."""

    @abstractmethod
    def end(self, name: str) -> None:
        """An element closes."""

    def read(self, archive: zipfile.ZipFile, path: str) -> None:
        parser = expat.ParserCreate()  # tags as written: "c", or "x:c" with a prefix
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = self.no_doctype
        parser.StartElementHandler, parser.EndElementHandler = self.start, self.end
        parser.CharacterDataHandler = self.text.add
        try:
            with archive.open(path) as source:
                while chunk := source.read(64 * 1024):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except _Stop:
            pass
        except (expat.ExpatError, zipfile.BadZipFile, EOFError, ValueError, KeyError):
            raise refuse(FILE, UNREADABLE) from None

    @staticmethod
    def no_doctype(*_args) -> None:
        raise refuse(FILE, UNREADABLE)


class _SharedStrings(_Part):
    """The table of shared strings: each <si>'s text runs, without phonetic guides (<rPh>)."""

    def __init__(self, budget: list[int]):
        super().__init__(budget)
        self.strings: list[str | TooLong] = []
        self.phonetic = False

    def start(self, name: str, _attrs) -> None:
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise self.overspent()
        tag = name[name.find(":") + 1 :]
        if tag == "si":
            text = self.text
            text.parts, text.length, text.too_long = [], 0, False
        elif tag == "rPh":
            self.phonetic = True
        elif tag == "t":
            self.text.capturing = not self.phonetic

    def end(self, name: str) -> None:
        tag = name[name.find(":") + 1 :]
        if tag == "t":
            self.text.capturing = False
        elif tag == "rPh":
            self.phonetic = False
        elif tag == "si":
            if len(self.strings) >= MAX_SHARED_STRINGS:
                raise refuse(FILE, f"共享字符串超过 {MAX_SHARED_STRINGS} 个，文件过大。")
            text = self.text
            self.strings.append(TOO_LONG if text.too_long else _excel_text("".join(text.parts)))


def _number(text: str) -> int | float | str:
    try:
        return float(text) if any(c in text for c in ".Ee") else int(text)
    except ValueError:  # not a number, or an integer of more digits than Python converts
        return text


class _SheetReader(_Part):
    """One sheet's <sheetData>, row by row into a Table; cells right of the last header are
    skipped unread, and reading stops at </sheetData>."""

    def __init__(self, table: Table, strings: list, book, budget: list[int]) -> None:
        super().__init__(budget)
        self.table, self.sheet, self.strings = table, table.sheet, strings
        self.epoch = book.epoch
        self.date_styles, self.duration_styles = book._date_formats, book._timedelta_formats
        self.row = self.column = 0
        self.values: dict[int, Any] = {}
        self.cell_type, self.style, self.keep = "n", "0", False
        self.inline = self.phonetic = False
        self.after_data = False  # past </sheetData>: only the merged cells are read
        self.merged: list[tuple[int, int, int, int]] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        # the hot path: once for each element of the sheet
        budget = self.budget
        budget[0] -= 1
        if budget[0] < 0:
            raise self.overspent()
        tag = name[name.find(":") + 1 :]
        if self.after_data:
            if tag == "mergeCell":
                try:
                    bounds = range_boundaries(attrs.get("ref", ""))
                except (ValueError, TypeError):
                    raise refuse(self.sheet, UNREADABLE) from None
                # kept: ranges down several rows that start under a header (Excel writes one
                # per merge; a bureau's file has a few thousand)
                if None not in bounds and bounds[3] > bounds[1] and bounds[0] <= self.table.width:
                    if len(self.merged) >= MAX_MERGED_RANGES:
                        raise refuse(self.sheet, f"合并单元格超过 {MAX_MERGED_RANGES} 处。")
                    self.merged.append(bounds)
        elif tag == "c":
            reference = attrs.get("r")
            letters = reference.rstrip("0123456789") if reference else ""
            column = self.column = column_index_from_string(letters) if letters else self.column + 1
            if column <= self.table.width:
                self.keep = True
                self.cell_type, self.style = attrs.get("t", "n"), attrs.get("s", "0")
                text = self.text
                text.parts, text.length, text.too_long = [], 0, False
            else:
                self.keep = False
        elif tag == "v" or (tag == "t" and self.inline and not self.phonetic):
            self.text.capturing = self.keep
        elif tag == "row":
            number = attrs.get("r")
            self.row = int(number) if number and number.isdigit() else self.row + 1
            if self.row > MAX_SHEET_ROWS:
                raise refuse(self.sheet, f"行号超过 {MAX_SHEET_ROWS}（Excel 的上限）。")
            self.column, self.values = 0, {}
        elif tag == "is":
            self.inline = True
        elif tag == "rPh":
            self.phonetic = True

    def end(self, name: str) -> None:
        tag = name[name.find(":") + 1 :]
        if tag == "c":
            if self.keep and (value := self.value()) not in (None, ""):  # empty: not kept
                self.values[self.column - 1] = value
                if self.column > MAX_HEADER_COLUMNS:  # above the header: refused at once
                    raise self.table.too_wide(self.row)
        elif tag in ("v", "t"):
            self.text.capturing = False
        elif tag == "row":
            table = self.table
            if table.names is None:
                table.scan(self.row, self.values)
                if table.probing and (table.kind or self.row >= HEADER_SEARCH_ROWS):
                    raise _Stop
            elif self.values:
                self.table.add(self.row, self.values)
        elif tag == "is":
            self.inline = False
        elif tag == "rPh":
            self.phonetic = False
        elif tag == "sheetData":
            table = self.table
            if table.probing or table.names is None or table.sampling is not None:
                raise _Stop  # the merged cells matter only to the rows kept
            self.after_data = True
        elif tag == "mergeCells":
            raise _Stop

    def value(self) -> Any:
        """The cell's value as openpyxl gives it with data_only: the cached result of a
        formula, a datetime for a number in a date format, text with Excel's escapes read."""
        text, kind = self.text.value(), self.cell_type
        if isinstance(text, TooLong):
            return text
        if kind in ("inlineStr", "str"):
            return _excel_text(text)
        if text == "":
            return None
        if kind == "s":
            try:
                return self.strings[int(text)]
            except (ValueError, IndexError):
                raise refuse(self.sheet, UNREADABLE, self.row) from None
        if kind == "b":
            return text in ("1", "true")
        if kind == "d":
            try:
                return from_ISO8601(text)
            except ValueError:
                return text
        if kind != "n":
            return text  # an error such as #N/A
        number = _number(text)
        style = int(self.style) if self.style.isdigit() else 0
        if isinstance(number, str) or style not in self.date_styles:
            return number
        try:
            return from_excel(number, self.epoch, timedelta=style in self.duration_styles)
        except (OverflowError, ValueError):
            return "#VALUE!"


class _WholeParts:
    """The zip as openpyxl sees it: the parts it parses whole may together hold no more than
    MAX_WHOLE_PARTS_BYTES (the shared strings and the sheets are streamed, not read here)."""

    def __init__(self, archive: zipfile.ZipFile):
        self._archive = archive
        self._left = MAX_WHOLE_PARTS_BYTES

    def read(self, name: str) -> bytes:
        self._left -= self._archive.getinfo(name).file_size
        if self._left < 0:
            limit = MAX_WHOLE_PARTS_BYTES // 1024
            raise refuse(FILE, f"工作簿、样式等部件合计超过 {limit} KB（读到 {name[:60]}）。")
        return self._archive.read(name)

    def __getattr__(self, name: str) -> Any:
        if name == "open":  # every part openpyxl would open goes through read, or not at all
            raise AttributeError(name)
        return getattr(self._archive, name)


class _Package(ExcelReader):
    """openpyxl's reading of the package alone: the manifest, the workbook (sheet names and
    where each sheet is), the styles (which number formats are dates). No sheet is opened."""

    def __init__(self, content: bytes):
        super().__init__(io.BytesIO(content), read_only=True, data_only=True, keep_links=False)
        self.zip = self.archive
        self.archive = _WholeParts(self.zip)

    def read(self) -> None:
        self.read_manifest()
        self.read_workbook()
        apply_stylesheet(self.archive, self.wb)

    def worksheet_parts(self) -> dict[str, str]:
        """Each worksheet's name -> its part in the zip."""
        return {
            sheet.name: rel.target
            for sheet, rel in self.parser.find_sheets()
            if rel.target in self.valid_files and rel.Type.endswith("/worksheet")
        }

    def string_table(self, budget: list[int]) -> list[str | TooLong]:
        part = self.package.find(SHARED_STRINGS)
        if part is None or part.PartName[1:] not in self.valid_files:
            return []
        reader = _SharedStrings(budget)
        reader.read(self.zip, part.PartName[1:])
        return reader.strings


def _open_package(content: bytes) -> _Package:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise refuse(FILE, "不是有效的 xlsx 文件。") from None
    if len(parts) > MAX_PARTS:
        raise refuse(FILE, f"文件包含超过 {MAX_PARTS} 个部件，不像是 Excel 保存的 xlsx 文件。")
    if sum(part.file_size for part in parts) > MAX_UNPACKED_BYTES:
        raise refuse(FILE, "文件解压后过大，拒绝导入。")
    try:
        package = _Package(content)
        package.read()
    except SpreadsheetError:
        raise
    except Exception:  # openpyxl raises many kinds for a broken or hostile file
        raise refuse(FILE, UNREADABLE) from None
    return package


def _one(found: dict[str, list[str]], kind: str, what: str) -> str | None:
    if len(found[kind]) > 1:
        names = "、".join(f"“{name[:31]}”" for name in found[kind])
        raise refuse(FILE, f"工作表{names}都像{what}表，请只保留一个。")
    return found[kind][0] if found[kind] else None


def _probe(package, sheets, strings, budget, mapping, kinds) -> dict[str, list[str]]:
    """The sheets of each of `kinds`, found by a header row within the first rows."""
    found: dict[str, list[str]] = {kind: [] for kind in kinds}
    for name, part in sheets.items():
        probe = Table(name, None, 0, mapping, kinds)
        _SheetReader(probe, strings, package.wb, budget).read(package.zip, part)
        if probe.kind:
            found[probe.kind].append(name)
    return found


def read_xlsx_sheet(
    content: bytes, kind: str, what: str, mapping: dict[str, str] | None = None
) -> Rows:
    """The one sheet of `kind` (`what` names it in messages), found by its header row like
    read_xlsx's sheets, read with the same limits (MAX_ROWS rows)."""
    package = _open_package(content)
    try:
        sheets = package.worksheet_parts()
        budget = [MAX_FILE_ELEMENTS]
        strings = package.string_table(budget)
        name = _one(_probe(package, sheets, strings, budget, mapping, (kind,)), kind, what)
        if name is None:
            raise refuse(
                FILE,
                f"没有找到{what}所在的工作表：须有一个工作表在前 {HEADER_SEARCH_ROWS} 行中"
                f"有一行表头含{wanted(kind)}等列（请使用下载的模板）。",
            )
        table = Table(name, kind, MAX_ROWS, mapping)
        reader = _SheetReader(table, strings, package.wb, budget)
        reader.read(package.zip, sheets[name])
        table.done()
        table.fill_merged(reader.merged)
    finally:
        package.zip.close()
    return Rows(name, finish([table])[0])


def read_xlsx(content: bytes, mapping: dict[str, str] | None = None) -> tuple[Rows, Rows]:
    """The handling-item sheet and the materials sheet, each found by its header row (within
    its first HEADER_SEARCH_ROWS rows), whatever the sheets are called. An FAQ sheet, found
    the same way, comes as the handling-item rows' `faq` (None without one)."""
    package = _open_package(content)
    try:
        sheets = package.worksheet_parts()
        budget = [MAX_FILE_ELEMENTS]
        strings = package.string_table(budget)
        found = _probe(package, sheets, strings, budget, mapping, (HANDLING, MATERIALS, FAQ))
        handling = _one(found, HANDLING, "业务办理项")
        if handling is None:
            raise refuse(
                FILE,
                f"没有找到业务办理项所在的工作表：须有一个工作表在前 {HEADER_SEARCH_ROWS} 行中"
                f"有一行表头含{wanted(HANDLING)}等列（各列的写法见 seed/import_headers.yaml）。",
            )
        materials = _one(found, MATERIALS, "申请材料")
        faq = _one(found, FAQ, "常见问题")
        tables = [Table(handling, HANDLING, MAX_ROWS, mapping)]
        if materials is not None:
            tables.append(Table(materials, MATERIALS, MAX_MATERIAL_ROWS, mapping))
        if faq is not None:
            tables.append(Table(faq, FAQ, MAX_FAQ_ROWS, mapping))
        for table in tables:
            reader = _SheetReader(table, strings, package.wb, budget)
            reader.read(package.zip, sheets[table.sheet])
            table.done()
            table.fill_merged(reader.merged)
    finally:
        package.zip.close()
    read = dict(zip((table.sheet for table in tables), finish(tables), strict=True))
    handling_rows = Rows(handling, read[handling])
    handling_rows.faq = Rows(faq, read[faq]) if faq is not None else None
    return handling_rows, Rows(materials or MATERIAL_SHEET, read.get(materials, []))
