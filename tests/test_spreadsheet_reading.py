"""Reading an uploaded file costs what its real cells cost: hostile xlsx and CSV files (a lying
dimension, a zip's lying sizes, millions of cells, strings, rows or zip members, one huge cell)
are read in a child process whose peak memory is measured, and refused with a message that
says where. The xlsx files are written member by member, so that they can lie."""

from __future__ import annotations

import csv
import io
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

from catalog.importing import read_file
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE
from catalog.spreadsheet_reading import (
    MAX_CELL_CHARS,
    MAX_FILE_ELEMENTS,
    MAX_PARTS,
    MAX_RECORD_COMMAS,
    MAX_SHARED_STRINGS,
    MAX_SHEET_ROWS,
    MAX_UPLOAD_BYTES,
    MAX_WHOLE_PARTS_BYTES,
    SpreadsheetError,
)
from catalog.spreadsheets import ITEM_SHEET, MATERIAL_HEADERS, MATERIAL_SHEET, ROW_HEADERS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PEAK_LIMIT_MB = 300
MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
ITEMS_PART, MATERIALS_PART = "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
SHARED_STRINGS_REL = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
)


# -- hostile files, written member by member -----------------------------------------------------


def _template() -> bytes:
    book = Workbook()
    book.active.title = ITEM_SHEET
    book.active.append(ROW_HEADERS)
    book.create_sheet(MATERIAL_SHEET).append(MATERIAL_HEADERS)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sheet(headers: list[str], *body: bytes | Iterable[bytes], dimension: str = "A1:A1"):
    """A worksheet's XML in chunks: the header row of inline strings, then `body` as given."""
    cells = "".join(f'<c t="inlineStr"><is><t>{header}</t></is></c>' for header in headers)
    start = f'<worksheet {MAIN}><dimension ref="{dimension}"/><sheetData><row r="1">{cells}</row>'
    yield start.encode()
    for chunk in body:
        yield from [chunk] if isinstance(chunk, bytes) else chunk
    yield b"</sheetData></worksheet>"


def repeated(chunk: bytes, times: int) -> Iterator[bytes]:
    block = chunk * 10_000
    for _ in range(times // 10_000):
        yield block
    yield chunk * (times % 10_000)


def xlsx(
    parts: dict[str, Iterable[bytes]] | None = None,
    edits: dict[str, Callable[[bytes], bytes]] | None = None,
) -> bytes:
    """The template's package with some parts replaced (streamed into the zip, so a part may
    be large) or edited."""
    parts, edits = parts or {}, edits or {}
    source = zipfile.ZipFile(io.BytesIO(_template()))
    names = [info.filename for info in source.infolist()] + [
        n for n in parts if n not in source.namelist()
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name in names:
            if name in parts:
                with target.open(name, "w", force_zip64=True) as member:
                    for chunk in parts[name]:
                        member.write(chunk)
            else:
                target.writestr(name, edits.get(name, lambda data: data)(source.read(name)))
    return buffer.getvalue()


def with_shared_strings(strings: Iterable[bytes], **parts) -> bytes:
    def manifest(data: bytes) -> bytes:
        override = (
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_STRINGS_TYPE}"/>'
        )
        return data.replace(b"</Types>", override.encode() + b"</Types>")

    def relationships(data: bytes) -> bytes:
        rel = f'<Relationship Id="rIdS" Type="{SHARED_STRINGS_REL}" Target="sharedStrings.xml"/>'
        return data.replace(b"</Relationships>", rel.encode() + b"</Relationships>")

    table = [f"<sst {MAIN}>".encode(), *strings, b"</sst>"]
    return xlsx(
        {"xl/sharedStrings.xml": table, **parts},
        {"[Content_Types].xml": manifest, "xl/_rels/workbook.xml.rels": relationships},
    )


def lying_dimension(last_row: int) -> bytes:
    """The finding: a materials sheet that declares A1:XFD<last_row> and holds one real row
    there (openpyxl padded every row to 16,384 columns: 1.4 GB for 10,001 rows)."""
    row = f'<row r="{last_row}"><c r="A{last_row}" t="inlineStr"><is><t>X-01</t></is></c></row>'
    return xlsx(
        {MATERIALS_PART: sheet(MATERIAL_HEADERS, row.encode(), dimension=f"A1:XFD{last_row}")}
    )


def lying_sizes() -> bytes:
    """A zip whose directory says the items sheet unpacks to 1,000 bytes: it unpacks to 40 MB."""
    body = b"".join(sheet(ROW_HEADERS, b"<row/>" * (40 * 1024 * 1024 // 6)))
    data = bytearray(xlsx(edits={ITEMS_PART: lambda _data: body}))
    name = ITEMS_PART.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.find(signature)
        while data[at + name_at : at + name_at + len(name)] != name:
            at = data.find(signature, at + 1)
        struct.pack_into("<I", data, at + size_at, 1000)
    return bytes(data)


def one_row(part: str, headers: list[str], *chunks: bytes | Iterable[bytes]) -> bytes:
    return xlsx({part: sheet(headers, b'<row r="2">', *chunks, b"</row>")})


def inline_cell(text: Iterable[bytes]) -> Iterator[bytes]:
    yield b'<c t="inlineStr"><is><t>'
    yield from text
    yield b"</t></is></c>"


def whole_parts_at_their_cap() -> bytes:
    """The parts openpyxl parses whole (manifest, workbook, its relationships, styles) filled
    with what each may hold many of, up to MAX_WHOLE_PARTS_BYTES together."""
    template = zipfile.ZipFile(io.BytesIO(_template()))
    fillings = {
        "[Content_Types].xml": (b"</Types>", b'<Default Extension="x" ContentType="a/b"/>'),
        "xl/_rels/workbook.xml.rels": (
            b"</Relationships>",
            b'<Relationship Id="rZ" Type="t" Target="x"/>',
        ),
        "xl/workbook.xml": (b"</definedNames>", b'<definedName name="n">S!$A$1</definedName>'),
        "xl/styles.xml": (b"</cellXfs>", b'<xf numFmtId="14" fontId="0" fillId="0" borderId="0"/>'),
    }
    room = MAX_WHOLE_PARTS_BYTES - sum(template.getinfo(name).file_size for name in fillings)
    room -= len("<definedNames></definedNames>") + 100

    def filled(closing: bytes, unit: bytes) -> Callable[[bytes], bytes]:
        def edit(data: bytes) -> bytes:
            data = data.replace(b"<definedNames />", b"<definedNames></definedNames>")
            return data.replace(closing, unit * (room // len(fillings) // len(unit)) + closing)

        return edit

    return xlsx(edits={name: filled(*filling) for name, filling in fillings.items()})


HOSTILE_XLSX = {
    "a lying dimension, one real row at 10,001": (lambda: lying_dimension(10_001), None),
    "a lying dimension, one real row at 1,048,576": (lambda: lying_dimension(1_048_576), None),
    "3.3 million cells right of the headers": (
        lambda: one_row(MATERIALS_PART, MATERIAL_HEADERS, repeated(b"<c><v>1</v></c>", 3_300_000)),
        f"超过 {MAX_FILE_ELEMENTS} 个 XML 元素",
    ),
    "2.8 million shared strings": (
        lambda: with_shared_strings(repeated(b"<si><t>x</t></si>", 2_800_000)),
        f"共享字符串超过 {MAX_SHARED_STRINGS} 个",
    ),
    "a cell of 45 MB": (
        lambda: one_row(ITEMS_PART, ROW_HEADERS, inline_cell(repeated(b"a", 45_000_000))),
        f"第2行「事项编码」：超过 {MAX_CELL_CHARS} 个字符",
    ),
    "8 million blank rows": (
        lambda: xlsx({MATERIALS_PART: sheet(MATERIAL_HEADERS, repeated(b"<row/>", 8_000_000))}),
        f"行号超过 {MAX_SHEET_ROWS}",
    ),
    "a zip that lies about its sizes": (lying_sizes, "无法读取该 xlsx 文件"),
    "45,000 zip members": (
        lambda: xlsx({f"m{i}": [b""] for i in range(45_000)}),
        f"超过 {MAX_PARTS} 个部件",
    ),
    "the parts read whole, at their cap": (whole_parts_at_their_cap, None),
}
HOSTILE_CSV = {
    "1.7 million cells in one record": (
        lambda: (",".join(ROW_HEADERS) + "\n\U0001f600" + "ab," * 1_700_000).encode(),
        f"第2行：逗号超过 {MAX_RECORD_COMMAS} 个",
    ),
    "a cell of 5 MB": (
        lambda: (",".join(ROW_HEADERS) + "\nA," + "x" * 5_000_000).encode(),
        f"第2行「事项名称」：超过 {MAX_CELL_CHARS} 个字符",
    ),
    "5 million blank lines": (
        lambda: (",".join(ROW_HEADERS) + "\r\n" * 2_500_000).encode(),
        f"超过 {MAX_SHEET_ROWS} 行",
    ),
}


def problems_of(filename: str, content: bytes) -> list[str]:
    with pytest.raises(SpreadsheetError) as caught:
        read_file(filename, content)
    return [str(problem) for problem in caught.value.problems]


def csv_row(**cells: str) -> bytes:
    """The items header and one row of a CSV, every other cell empty."""
    row = [cells.get(header, "") for header in ROW_HEADERS]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([ROW_HEADERS, row])
    return buffer.getvalue().encode("utf-8")


def xlsx_row(*cells: str) -> bytes:
    """The items header and one row of inline strings, XML-escaped as given."""
    row = "".join(f'<c t="inlineStr"><is><t>{cell}</t></is></c>' for cell in cells)
    return xlsx({ITEMS_PART: sheet(ROW_HEADERS, f'<row r="2">{row}</row>'.encode())})


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f"])
def test_a_control_character_in_a_csv_cell_is_refused_naming_row_and_column(character):
    problems = problems_of("x.csv", csv_row(事项编码="A", 事项名称=f"港口{character}经营"))
    assert problems == [f"{ITEM_SHEET} 第2行「事项名称」：{CONTROL_CHARACTERS_MESSAGE}"]


def test_a_control_character_written_as_excel_writes_it_is_refused_naming_row_and_column():
    """XML cannot hold a NUL: Excel writes it _x0000_, and it is read as what it is."""
    problems = problems_of("x.xlsx", xlsx_row("A", "港口_x0000_经营"))
    assert problems == [f"{ITEM_SHEET} 第2行「事项名称」：{CONTROL_CHARACTERS_MESSAGE}"]


def test_tabs_and_line_breaks_in_a_cell_are_kept():
    rows, _materials = read_file(
        "x.csv", csv_row(事项编码="A", 设定依据="《法》\t第一条\r\n第二条")
    )
    assert rows[0].cells["设定依据"] == "《法》\t第一条\r\n第二条"
    rows, _materials = read_file("x.xlsx", xlsx_row("A", "港口", "_x0009_一_x000D_\n二"))
    assert rows[0].cells["事项类型"] == "一\r\n二"  # trimmed like every cell


def test_shared_strings_are_read_as_excel_shows_them():
    """Rich-text runs joined, phonetic guides (rPh, which WPS and Excel write for Chinese) left
    out, a literal "_x" kept (Excel writes it _x005F_x)."""
    strings = [
        b"<si><t>A</t></si>",
        b"<si><r><t>\xe6\xb8\xaf\xe5\x8f\xa3</t></r><r><rPr><b/></rPr><t>ok_x005F_x0041_</t></r>"
        b'<rPh sb="0" eb="2"><t>gangkou</t></rPh></si>',
    ]
    cells = b'<row r="2"><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>'
    content = with_shared_strings(strings, **{ITEMS_PART: sheet(ROW_HEADERS, cells)})
    rows, _materials = read_file("x.xlsx", content)
    assert (rows[0].cells["事项编码"], rows[0].cells["事项名称"]) == ("A", "港口ok_x0041_")


def test_csv_with_the_old_mac_line_ends_is_read():
    content = csv_row(事项编码="A", 事项名称="港口经营许可").replace(b"\r\n", b"\r")
    rows, _materials = read_file("x.csv", content)
    assert [(row.number, row.cells["事项名称"]) for row in rows] == [(2, "港口经营许可")]


def test_a_csv_field_past_the_csv_modules_limit_is_refused_naming_row_column_and_limit():
    content = csv_row(事项编码="A", 事项名称="长" * 200_000)  # csv's own limit: 131,072
    assert problems_of("x.csv", content) == [
        f"{ITEM_SHEET} 第2行「事项名称」：超过 {MAX_CELL_CHARS} 个字符（单元格的上限）。"
    ]


def test_a_sheet_that_is_not_well_formed_xml_is_refused():
    content = xlsx({ITEMS_PART: sheet(ROW_HEADERS, b'<row r="2"><c><v>1</c></row>')})
    assert problems_of("x.xlsx", content) == ["文件：无法读取该 xlsx 文件。"]


def test_parts_parsed_whole_are_refused_past_their_cap():
    xf = b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    styles = b"</cellXfs>", xf * 20_000 + b"</cellXfs>"
    many_styles = {"xl/styles.xml": lambda data: data.replace(*styles)}
    limit = MAX_WHOLE_PARTS_BYTES // 1024
    assert problems_of("x.xlsx", xlsx(edits=many_styles)) == [
        f"文件：工作簿、样式等部件合计超过 {limit} KB（读到 xl/styles.xml）。"
    ]


def test_a_header_wider_than_any_template_is_refused_at_once():
    far_header = b'<c r="ZZ1" t="inlineStr"><is><t>x</t></is></c></row>'
    header_row = b"".join(sheet(ROW_HEADERS)).replace(b"</row>", far_header, 1)
    content = xlsx({ITEMS_PART: [header_row]})
    assert problems_of("x.xlsx", content) == [
        f"{ITEM_SHEET} 第1行：表头超过 100 列。请使用下载的模板。"
    ]


# The child's own peak: VmHWM belongs to the memory of the program exec'd, while getrusage's
# ru_maxrss keeps the high-water mark of the process it was forked from (pytest's, here).
MEASURE = """
import re, sys
from catalog.importing import SpreadsheetError, read_file
path, filename = sys.argv[1:]
with open(path, "rb") as file:
    content = file.read()
try:
    read_file(filename, content)
    outcome = "read"
except SpreadsheetError as error:
    outcome = str(error)
with open("/proc/self/status") as status:
    print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) // 1024)
print(outcome)
"""


def peak_and_outcome(content: bytes, filename: str, tmp_path: Path) -> tuple[int, str]:
    """Read the file in a fresh process: (its peak resident memory in MB, what it said)."""
    assert len(content) <= MAX_UPLOAD_BYTES  # within the upload limit: every byte may arrive
    path = tmp_path / filename
    path.write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), filename],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    peak, outcome = done.stdout.split("\n", 1)
    return int(peak), outcome.strip()


@pytest.mark.parametrize(
    ("filename", "make", "refusal"),
    [("x.xlsx", *case) for case in HOSTILE_XLSX.values()]
    + [("x.csv", *case) for case in HOSTILE_CSV.values()],
    ids=[*HOSTILE_XLSX, *HOSTILE_CSV],
)
def test_memory_follows_the_real_cells_not_what_the_file_declares(
    filename, make, refusal, tmp_path
):
    peak, outcome = peak_and_outcome(make(), filename, tmp_path)
    assert peak < PEAK_LIMIT_MB, f"peak {peak} MB reading it: {outcome[:200]}"
    assert (outcome == "read") if refusal is None else (refusal in outcome), outcome[:300]
