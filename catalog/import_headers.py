"""Headers as bureaus write them -> the fields of the import (seed/import_headers.yaml), and
which sheet is which by its header row. A header nothing recognises needs a mapping (a dict of
header -> field or "ignore", from `flask import-items --mapping`); docs/import.md."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from catalog.decisions.columns import COLUMNS as DECISION_COLUMNS
from catalog.decisions.columns import LICENCE, PENALTY
from catalog.decisions.columns import SIGNATURES as DECISION_SIGNATURES
from catalog.spreadsheets import (
    ATTACHMENT_COLUMNS,
    COMPLETENESS_HEADERS,
    FAQ_COLUMNS,
    HANDLING_COLUMNS,
    ITEM_COLUMNS,
    MATERIAL_COLUMNS,
)

HEADERS_FILE = Path(__file__).resolve().parent.parent / "seed" / "import_headers.yaml"
HANDLING, MATERIALS = "handling", "materials"
FAQ = "faq"  # the optional sheet of questions and answers (catalog.import_faq)
# A material row names its handling item by 业务办理项编码, or by 事项编码 when the item has one
# handling item (the file may have no handling-item codes at all): the materials sheet reads both.
ITEM_CODE = "事项编码"
FIELDS = {
    HANDLING: tuple(column.header for column in (*ITEM_COLUMNS, *HANDLING_COLUMNS)),
    MATERIALS: (
        *(column.header for column in (*MATERIAL_COLUMNS, *ATTACHMENT_COLUMNS)),
        ITEM_CODE,
    ),
    FAQ: tuple(column.header for column in FAQ_COLUMNS),
    # the 双公示 templates (catalog.decisions.columns, catalog.decisions.importing)
    **{kind: tuple(c.header for c in DECISION_COLUMNS[kind]) for kind in (LICENCE, PENALTY)},
}
# The columns a header row must have: what the ratios read (catalog.elements). Every other column
# may be absent: its element is then missing (a gap) or, for the handling-item code and the case
# type, derived (catalog.importing). A materials sheet needs 材料名称 and one of its references.
REQUIRED = {
    HANDLING: ("事项编码", "事项名称", "事项类型", "法定时限", "承诺时限", "到现场次数"),
    MATERIALS: ("材料名称",),
    FAQ: tuple(column.header for column in FAQ_COLUMNS),
    **{
        kind: tuple(c.header for c in DECISION_COLUMNS[kind] if c.required)
        for kind in (LICENCE, PENALTY)
    },
}
MATERIAL_REFERENCES = ("业务办理项编码", ITEM_CODE)
# A header row is the sheet's when it holds these fields (after the spellings are read).
SIGNATURES = {
    HANDLING: ("事项编码", "承诺时限"),
    MATERIALS: ("材料名称",),
    FAQ: ("问题", "解答"),
    **DECISION_SIGNATURES,
}
ITEM_KINDS = (HANDLING, MATERIALS, FAQ)  # the sheets of an item import
IGNORE = "ignore"
# The longest header a column may have to be mapped (on the page, in a file, in the database): a
# header is a name, not a cell of text (an Excel cell holds 32,767 characters).
MAX_HEADER_CHARS = 255
HEADER_SEARCH_ROWS = 10  # the header row may sit below title rows and notes, up to this row
_BRACKETS = str.maketrans("【〔[〈{】〕]〉}", "((((()))))")


def header_key(text: str) -> str:
    """A header as it is compared: NFKC (full width -> half), no spaces or asterisks, one kind
    of bracket."""
    text = unicodedata.normalize("NFKC", str(text))
    return re.sub(r"[\s*]", "", text).translate(_BRACKETS)


# The export's completeness columns: computed from the others, so read as ignored.
_COMPUTED = frozenset(header_key(header) for header in COMPLETENESS_HEADERS)


@cache
def _listed(path: str) -> dict:
    with open(path, encoding="utf-8") as file:
        return yaml.safe_load(file)


@cache
def spellings(path: str = str(HEADERS_FILE)) -> dict[str, dict[str, str]]:
    """Per sheet kind: header key -> field (the app's own header)."""
    data = _listed(path)
    table: dict[str, dict[str, str]] = {}
    for kind, fields in FIELDS.items():
        table[kind] = {header_key(field): field for field in fields}
        for field, names in (data.get(kind) or {}).items():
            if field not in fields:
                raise ValueError(f"{path}: {kind} has no field {field}")
            for name in names:
                if table[kind].get(header_key(name), field) != field:
                    raise ValueError(f"{path}: {kind}: {name} names two fields")
                table[kind][header_key(name)] = field
    return table


def other_spellings(kind: str) -> list[tuple[str, list[str]]]:
    """Each field of a sheet of `kind` and its other spellings, as seed/import_headers.yaml
    writes them (the upload page and the template's 填写说明 list them)."""
    names = _listed(str(HEADERS_FILE)).get(kind) or {}
    return [
        (field, [n for n in names.get(field, ()) if header_key(n) != header_key(field)])
        for field in FIELDS[kind]
    ]


def wanted(kind: str) -> str:
    """The columns that tell a header row of `kind`, each with its other spellings, as a
    message names them: 行政许可决定文书号（或 决定文书号…）、许可决定日期（或 决定日期）."""
    others = dict(other_spellings(kind))
    return "、".join(
        field + (f"（或 {'、'.join(others[field])}）" if others.get(field) else "")
        for field in SIGNATURES[kind]
    )


def read_mapping(text: str) -> dict[str, str]:
    """A mapping file (YAML of header -> field or ignore) -> {header key: field or IGNORE}.
    ValueError (Chinese) for anything else (check_mapping)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError("映射文件不是有效的 YAML。") from None
    if not isinstance(data, dict):
        raise ValueError("映射文件须为“表头: 字段”的 YAML 映射。")
    return check_mapping(data)


def missing_required(kind: str, placed: Placed) -> list[str]:
    """The required columns a header row lacks, as its message names them."""
    fields = set(placed.fields.values())
    missing = [field for field in REQUIRED[kind] if field not in fields]
    if kind == MATERIALS and not fields & set(MATERIAL_REFERENCES):
        missing.append("或".join(MATERIAL_REFERENCES))
    return missing


def optional_fields(kind: str) -> list[str]:
    """The columns a header row may lack (the upload page and docs/import.md list them)."""
    references = MATERIAL_REFERENCES if kind == MATERIALS else ()
    return [f for f in FIELDS[kind] if f not in REQUIRED[kind] and f not in references]


def field_choices() -> list[str]:
    """The fields a column may be mapped to (the app's own headers), each once."""
    return list(dict.fromkeys((*FIELDS[HANDLING], *FIELDS[MATERIALS])))


def check_mapping(data: Mapping[object, object]) -> dict[str, str]:
    """The one rule for a mapping, from a file (--mapping) or the upload page or the database:
    header -> a field (any recognised spelling) or "ignore", no field claimed by two headers.
    Returns {header key: field or IGNORE}; ValueError (Chinese) naming the header otherwise."""
    known = {**spellings()[MATERIALS], **spellings()[HANDLING]}
    mapping: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for header, target in data.items():
        header, target = str(header).strip(), str(target or "").strip()
        if not header:
            raise ValueError("映射中有空的表头。")
        if len(header) > MAX_HEADER_CHARS:
            raise ValueError(f"映射中的表头「{header[:30]}…」超过 {MAX_HEADER_CHARS} 个字符。")
        if target.lower() == IGNORE:
            mapping[header_key(header)] = IGNORE
            continue
        field = known.get(header_key(target))
        if field is None:
            raise ValueError(f"映射中「{header[:30]}」的字段“{target[:30]}”无法识别。")
        if field in claimed:
            raise ValueError(
                f"「{claimed[field][:30]}」和「{header[:30]}」都对应“{field}”，"
                "一个字段只能对应一列。"
            )
        claimed[field] = header
        mapping[header_key(header)] = field
    return mapping


@dataclass
class Placed:
    """A header row read for one kind of sheet: field by column index (None: ignored), the
    columns nothing recognises, and fields two columns claim."""

    fields: dict[int, str | None]
    unknown: list[tuple[int, str]]
    twice: list[tuple[str, str, str]]  # (field, first column's header, second column's header)

    def holds(self, kind: str) -> bool:
        return all(field in self.fields.values() for field in SIGNATURES[kind])


def place(kind: str, headers: Mapping[int, str], mapping: Mapping[str, str] | None) -> Placed:
    """The fields of a header row (index -> header text) for a sheet of `kind`."""
    known = spellings()[kind]
    placed = Placed({}, [], [])
    first: dict[str, str] = {}
    for index, text in sorted(headers.items()):
        key = header_key(text)
        target = (mapping or {}).get(key)
        if target == IGNORE or key in _COMPUTED:  # the export's completeness: read from the rest
            placed.fields[index] = None
            continue
        field = known.get(header_key(target)) if target else known.get(key)
        if field is None:
            placed.unknown.append((index, text))
            continue
        if field in first:
            placed.twice.append((field, first[field], text))
            continue
        first[field] = text
        placed.fields[index] = field
    return placed


def classify(
    headers: Mapping[int, str], mapping: Mapping[str, str] | None, kinds=ITEM_KINDS
) -> str | None:
    """Which of `kinds` of sheet a row is the header of, if any."""
    for kind in kinds:
        if place(kind, headers, mapping).holds(kind):
            return kind
    return None
