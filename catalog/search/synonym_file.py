"""The synonym list as a file staff download and upload: CSV (UTF-8 with a BOM, so Excel opens
it), one row per word people type and one official word, under the headers 搜索词 and 对应的词.
Reading trusts nothing the file says: its size, its rows and each cell are bounded before they
are kept, and every refusal is in Chinese."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from catalog.domain import DomainError
from catalog.public.export import FORMULA_PREFIXES, safe_cell

HEADERS = ("搜索词", "对应的词")
HEADER_ALIASES = {"搜索词": 0, "term": 0, "对应的词": 1, "target": 1}
MAX_FILE_BYTES = 256 * 1024
MAX_FILE_ROWS = 2_001  # MAX_SYNONYMS and one more, which the plan then refuses by name
MAX_CELL_CHARS = 200  # far beyond a valid cell (20 and 50): the check names it too long


class SynonymFileError(DomainError):
    """A file that is not a synonym list; nothing was read from it."""


def to_csv(pairs: Iterable[tuple[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows([safe_cell(term), safe_cell(target)] for term, target in pairs)
    return "\ufeff" + buffer.getvalue()


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on a Chinese Windows saves GB18030
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SynonymFileError("文件不是 UTF-8 或 GB18030 编码的 CSV 文本，无法读取。")


def _cell(value: str) -> str:
    value = value.strip()
    if value.startswith("'") and value[1:2] in FORMULA_PREFIXES:
        value = value[1:]  # the ' that to_csv put before a formula-like cell
    return value[:MAX_CELL_CHARS]


def read_csv(content: bytes) -> list[tuple[int, str, str]]:
    """(row number, term, target) of every non-blank row under the header row."""
    if len(content) > MAX_FILE_BYTES:
        raise SynonymFileError(f"文件过大：同义词文件最大 {MAX_FILE_BYTES // 1024} KB。")
    if b"\0" in content:
        raise SynonymFileError("文件不是 CSV 文本（含有 NUL 字符），请上传本页导出的 CSV 文件。")
    reader = csv.reader(io.StringIO(_decode(content), newline=""))
    try:
        header = next(reader, None)
        columns = [HEADER_ALIASES.get(_cell(h).lower()) for h in header or []]
        if 0 not in columns or 1 not in columns:
            raise SynonymFileError("第 1 行须为表头“搜索词,对应的词”（与本页导出的文件相同）。")
        term_at, target_at = columns.index(0), columns.index(1)
        rows = []
        for number, record in enumerate(reader, start=2):
            cells = [_cell(value) for value in record[: max(term_at, target_at) + 1]]
            cells += [""] * (max(term_at, target_at) + 1 - len(cells))
            if not any(cells):
                continue
            if len(rows) >= MAX_FILE_ROWS:
                raise SynonymFileError(f"行数过多：同义词文件最多 {MAX_FILE_ROWS - 1} 行。")
            rows.append((number, cells[term_at], cells[target_at]))
    except csv.Error as exc:
        raise SynonymFileError(f"CSV 格式错误（第 {reader.line_num} 行附近）：{exc}") from None
    if not rows:
        raise SynonymFileError("文件中没有同义词：表头下没有任何行。")
    return rows
