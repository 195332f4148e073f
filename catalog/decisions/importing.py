"""The 双公示 spreadsheet import: an xlsx or a CSV (UTF-8, UTF-8 with BOM, GB18030) of one kind
of decision -> records -> a preview with every rule broken, cell by cell (nothing written) ->
an all-or-nothing apply through operations.create_many. The file is read by the item import's
readers and limits (catalog.xlsx_reading, catalog.spreadsheet_reading); the rules are
catalog.decisions.checks'; a preview keeps its records in catalog.uploads until applied."""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from catalog import audit
from catalog.decisions import operations
from catalog.decisions.columns import (
    COLUMNS,
    DATE,
    HEADERS,
    IGNORED_HEADERS,
    KIND_LABELS,
    LICENCE,
    PENALTY,
)
from catalog.domain import Conflict, Invalid
from catalog.extensions import db
from catalog.import_headers import IGNORE, header_key
from catalog.models import LicenceDecision, PenaltyDecision
from catalog.spreadsheet_reading import (
    FILE,
    MAX_PROBLEMS,
    MAX_UPLOAD_BYTES,
    Problem,
    SpreadsheetError,
    UnknownHeader,
    read_csv_sheet,
    refuse,
)
from catalog.xlsx_reading import read_xlsx_sheet

MODELS = {LICENCE: LicenceDecision, PENALTY: PenaltyDecision}
UNKNOWN = "无法识别的表头：请改为模板中的列名（见下载的模板），或删除此列。"
_DAY = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
OPEN_ENDED = ("长期", "永久", "长期有效")  # 有效期至 of a licence without an end


@dataclass
class Record:
    row: int  # the spreadsheet's row number
    data: dict[str, Any]


@dataclass
class Preview:
    kind: str
    sheet: str
    records: list[Record]
    problems: list[Problem] = field(default_factory=list)
    # (authority, document number) of every record: free when previewed; apply refuses the
    # batch when any has been taken since
    keys: list[tuple[str, str]] = field(default_factory=list)


def read(kind: str, filename: str, content: bytes) -> tuple[str, list[Record]]:
    """(the sheet's name, its records) of an uploaded file of `kind`, by its extension."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise refuse(FILE, f"文件超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB。")
    mapping = {header_key(header): IGNORE for header in IGNORED_HEADERS}
    what = KIND_LABELS[kind]
    try:
        if filename.lower().endswith(".xlsx"):
            rows = read_xlsx_sheet(content, kind, what, mapping)
        elif filename.lower().endswith(".csv"):
            rows = read_csv_sheet(content, kind, filename[-60:] or what, mapping)
        else:
            raise refuse(FILE, "只支持 .xlsx 和 .csv 文件。")
    except SpreadsheetError as exc:
        if not any(isinstance(p, UnknownHeader) for p in exc.problems):
            raise
        raise SpreadsheetError(
            [
                Problem(p.sheet, p.row, p.column, UNKNOWN) if isinstance(p, UnknownHeader) else p
                for p in exc.problems
            ]
        ) from None
    keys = {column.header: column.key for column in COLUMNS[kind]}
    dates = {column.key for column in COLUMNS[kind] if column.widget == DATE}
    records = [
        Record(row.number, {keys[h]: _value(v, keys[h] in dates) for h, v in row.cells.items()})
        for row in rows
    ]
    return rows.sheet, records


def _value(value: Any, is_date: bool) -> Any:
    """A cell as the checks read it: a day for a date (Excel's, or 2020/5/18, 2020年5月18日),
    text for a number written in a text column, None for an empty cell."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    text = str(value).strip()
    if is_date:
        if text in OPEN_ENDED:
            return None
        if match := _DAY.fullmatch(text):
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                return text  # the checks say it is not a date
    return text


def preview(kind: str, sheet: str, records: list[Record]) -> Preview:
    """What applying would write, or every rule broken: (row, column header, message)."""
    result = Preview(kind, sheet, records)
    if not records:
        result.problems.append(Problem(sheet, None, None, "文件中没有数据行。"))
        return result
    values, errors = operations.check_many(MODELS[kind], [r.data for r in records])
    for path, messages in errors.items():
        number, _dot, key = path.partition(".")
        row = records[int(number) - 1].row
        result.problems.append(Problem(sheet, row, HEADERS[kind].get(key, key), " ".join(messages)))
        if len(result.problems) >= MAX_PROBLEMS:
            more = f"问题过多，只列出前 {MAX_PROBLEMS} 处。"
            result.problems.append(Problem(sheet, None, None, more))
            break
    result.keys = [(v["authority"], v["document_number"]) for v in values]
    return result


def freeze(result: Preview) -> bytes:
    """The previewed records, compressed, at most IMPORT_PENDING_MAX_BYTES."""
    plain = {
        "kind": result.kind,
        "sheet": result.sheet,
        "records": [[r.row, audit.jsonable(r.data)] for r in result.records],
        "keys": result.keys,
    }
    frozen = zlib.compress(json.dumps(plain, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    limit = current_app.config["IMPORT_PENDING_MAX_BYTES"]
    if len(frozen) > limit:
        raise refuse(FILE, f"文件内容过多，无法暂存预览（压缩后超过 {limit / 1024 / 1024:g} MB）。")
    return frozen


def thaw(frozen: bytes) -> Preview:
    """The records freeze() kept; ValueError when they cannot be read back."""
    try:
        plain = json.loads(zlib.decompress(frozen).decode("utf-8", "surrogatepass"))
    except zlib.error as exc:
        raise ValueError("not a kept preview") from exc
    records = [Record(row, data) for row, data in plain["records"]]
    keys = [tuple(key) for key in plain["keys"]]
    return Preview(plain["kind"], plain["sheet"], records, keys=keys)


class ImportConflict(Conflict):
    """Records with the preview's document numbers were entered after the preview."""

    def __init__(self, taken: list[tuple[str, str]]):
        self.taken = taken
        listed = "、".join(f"{number}（{authority}）" for authority, number in taken[:20])
        super().__init__(
            f"预览之后，以下文书号已被登记：{listed}{'等' if len(taken) > 20 else ''}。"
            "本次未导入任何内容；请重新上传文件，查看最新预览后再导入。"
        )


def apply(result: Preview, *, actor: Any, source: str) -> int:
    """Write the previewed records, all or nothing: refused (409) when a document number was
    taken since the preview, or when a rule the preview passed fails now (the catalog
    changed); audited record by record with the file's name as the reason."""
    model = MODELS[result.kind]
    numbers = sorted({number for _authority, number in result.keys})
    taken = set()
    for start in range(0, len(numbers), 500):
        taken.update(
            db.session.execute(
                sa.select(model.authority, model.document_number).where(
                    model.document_number.in_(numbers[start : start + 500])
                )
            ).tuples()
        )
    if lost := [key for key in result.keys if key in taken]:
        raise ImportConflict(lost)
    try:
        return operations.create_many(
            model, [r.data for r in result.records], actor=actor, reason=f"导入 {source}"
        )
    except Invalid:
        raise ChangedSincePreview() from None


class ChangedSincePreview(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "预览之后，目录或已有记录发生了变化，部分行已不符合规则。本次未导入任何内容；"
            "请重新上传文件，按最新预览修改后再导入。"
        )
