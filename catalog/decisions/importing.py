"""The 双公示 spreadsheet import: an xlsx or a CSV (UTF-8, UTF-8 with BOM, GB18030) of one kind
of decision, its headers in any spelling seed/import_headers.yaml lists -> records -> a
preview of the records it adds and those it updates, or every rule broken, cell by cell
(catalog.decisions.import_preview; nothing written) -> an all-or-nothing apply from the
versions the preview saw (operations.insert_many, update_many). The file is read by the item
import's readers and limits (catalog.xlsx_reading, catalog.spreadsheet_reading); the rules are
catalog.decisions.checks'; a preview keeps its records in catalog.uploads until applied."""

from __future__ import annotations

import json
import re
import zlib
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from catalog import audit
from catalog.decisions import operations
from catalog.decisions.columns import (
    COLUMNS,
    DATE,
    IGNORED_HEADERS,
    KIND_LABELS,
)
from catalog.decisions.import_preview import MODELS, Preview, Record, preview
from catalog.decisions.lookups import CHUNK
from catalog.domain import Conflict
from catalog.extensions import db
from catalog.import_headers import IGNORE, header_key
from catalog.spreadsheet_reading import (
    FILE,
    MAX_UPLOAD_BYTES,
    Problem,
    SpreadsheetError,
    UnknownHeader,
    read_csv_sheet,
    refuse,
)
from catalog.xlsx_reading import read_xlsx_sheet

UNKNOWN = (
    "{letter}列的表头「{header}」无法识别：请改为模板中的列名或其常见写法"
    "（见模板的“填写说明”或本页“可识别的表头”），或删除此列。"
)
_DAY = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
OPEN_ENDED = ("长期", "永久", "长期有效")  # 有效期至 of a licence without an end


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
                Problem(p.sheet, p.row, p.column, UNKNOWN.format(letter=p.letter, header=p.column))
                if isinstance(p, UnknownHeader)
                else p
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


def freeze(result: Preview) -> bytes:
    """The previewed records, compressed, at most IMPORT_PENDING_MAX_BYTES, with the keys of
    the new ones and the version of each record a row updates (or leaves unchanged)."""
    plain = {
        "kind": result.kind,
        "sheet": result.sheet,
        "records": [[r.row, audit.jsonable(r.data)] for r in result.records],
        "keys": result.keys,
        "versions": [[id_, version, name] for id_, (version, name) in result.versions.items()],
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
    versions = {int(id_): (int(version), name) for id_, version, name in plain["versions"]}
    return Preview(plain["kind"], plain["sheet"], records, keys=keys, versions=versions)


def _listed(names: list[str]) -> str:
    return "、".join(names[:20]) + ("等" if len(names) > 20 else "")


class ImportConflict(Conflict):
    """Records with the preview's new document numbers were entered after the preview."""

    def __init__(self, taken: list[tuple[str, str]]):
        self.taken = taken
        listed = _listed([f"{number}（{authority}）" for authority, number in taken])
        super().__init__(
            f"预览之后，以下文书号已被登记：{listed}。"
            "本次未导入任何内容；请重新上传文件，查看最新预览后再导入。"
        )


class RecordsChanged(Conflict):
    """Records the preview's rows update were changed (or entered) after the preview; without
    names, a save that won the race while the apply wrote."""

    def __init__(self, names: list[str]):
        self.names = names
        which = f"以下决定已被他人修改或登记：{_listed(names)}" if names else "有决定已被他人修改"
        super().__init__(
            f"预览之后，{which}。本次未导入任何内容（也未新增任何记录）；"
            "请重新上传文件，查看最新预览后再导入。"
        )


class ChangedSincePreview(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "预览之后，目录或已有记录发生了变化，部分行已不符合规则。本次未导入任何内容；"
            "请重新上传文件，按最新预览修改后再导入。"
        )


def apply(kept: Preview, *, actor: Any, source: str) -> tuple[int, int]:
    """Write what the kept preview showed, all or nothing: (records added, records changed).
    Refused (409, nothing written) when a new row's document number was taken since the
    preview, when a record a row matched changed since (or a row now matches a record entered
    since), or when a rule the preview passed fails now (the catalog changed). The records
    to update are locked while this runs; each write is audited with the file's name as the
    reason, an update as the edit form's is."""
    model = MODELS[kept.kind]
    numbers = sorted({number for _authority, number in kept.keys})
    taken = set()
    for start in range(0, len(numbers), CHUNK):
        taken.update(
            db.session.execute(
                sa.select(model.authority, model.document_number).where(
                    model.document_number.in_(numbers[start : start + CHUNK])
                )
            ).tuples()
        )
    if lost := [key for key in kept.keys if key in taken]:
        raise ImportConflict(lost)
    fresh = preview(kept.kind, kept.sheet, kept.records, lock=True)
    moved = [
        name
        for id_, (version, name) in kept.versions.items()
        if fresh.versions.get(id_, (None,))[0] != version
    ]
    moved += [name for id_, (_version, name) in fresh.versions.items() if id_ not in kept.versions]
    if moved:
        raise RecordsChanged(moved)
    if fresh.problems:
        raise ChangedSincePreview()
    reason = f"导入 {source}"
    created = operations.insert_many(model, fresh.new_values, actor=actor, reason=reason)
    versions = {id_: version for id_, (version, _name) in kept.versions.items()}
    updated = operations.update_many(fresh.updates, versions=versions, actor=actor, reason=reason)
    return created, updated
