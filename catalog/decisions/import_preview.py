"""What a 双公示 import would write, nothing written: each row of the file is a new record, or
updates the record with the same 决定文书号 and 许可机关 / 处罚机关 统一社会信用代码 (changed or
unchanged), checked by the forms' rules (catalog.decisions.checks, through
operations.check_many), with every problem by row and column. The blank-cell policy
(docs/decisions.md, "The import"): a row is the whole record, as in the edit form, so an empty
cell clears its field; a column the file does not have leaves that field as it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from catalog.decisions import operations
from catalog.decisions.checks import credit_code_form
from catalog.decisions.columns import COLUMNS, HEADERS, LICENCE, PENALTY
from catalog.decisions.lookups import CHUNK
from catalog.decisions.publication import amount_text
from catalog.enums import LabelledEnum
from catalog.extensions import db
from catalog.models import LicenceDecision, PenaltyDecision
from catalog.spreadsheet_reading import MAX_PROBLEMS, Problem

MODELS = {LICENCE: LicenceDecision, PENALTY: PenaltyDecision}
# The fields the checks store under another name than the column's (and publish_by, derived
# from the decision date, which the preview shows instead).
STORED_AS = {"item_id": "item", "handling_item_id": "handling_item"}
EMPTY = "（空）"


@dataclass
class Record:
    row: int  # the spreadsheet's row number
    data: dict[str, Any]  # the file's cells by field; a column the file lacks is not a key


@dataclass
class Change:
    """A row that updates a record: which one, and each field as it is and as it would be."""

    row: int
    document_number: str
    authority: str
    fields: list[tuple[str, str, str]]  # (column header, now, after)


@dataclass
class Preview:
    kind: str
    sheet: str
    records: list[Record]
    problems: list[Problem] = field(default_factory=list)
    new: list[Record] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unchanged: list[Record] = field(default_factory=list)
    # (authority, document number) of every new record: free when previewed; apply refuses
    # the batch when any has been taken since
    keys: list[tuple[str, str]] = field(default_factory=list)
    # every record a row matched: id -> (its version, "文书号（机关）"); apply refuses the batch
    # when any is no longer at that version
    versions: dict[int, tuple[int, str]] = field(default_factory=dict)
    # what apply writes (not kept with the preview: apply previews again)
    new_values: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return bool(self.new or self.changed)


def label(decision: Any) -> str:
    """A record as messages name it."""
    return f"{decision.document_number}（{decision.authority}）"


def _matches(model: type, records: list[Record], lock: bool) -> dict[tuple[str, str], list]:
    """The records with the rows' document numbers, by (document number, authority credit
    code); locked for the rest of the transaction when applying (PostgreSQL; SQLite writes
    one transaction at a time)."""
    numbers = sorted({_text(r.data.get("document_number")) for r in records} - {""})
    found: dict[tuple[str, str], list] = {}
    for start in range(0, len(numbers), CHUNK):
        query = sa.select(model).where(model.document_number.in_(numbers[start : start + CHUNK]))
        if model is LicenceDecision:
            query = query.options(selectinload(model.item), selectinload(model.handling_item))
        if lock:
            query = query.with_for_update(of=model)
        for decision in db.session.scalars(query):
            key = (decision.document_number, decision.authority_credit_code)
            found.setdefault(key, []).append(decision)
    return found


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def preview(kind: str, sheet: str, records: list[Record], *, lock: bool = False) -> Preview:
    """What applying would write, or every rule broken: (row, column header, message)."""
    result = Preview(kind, sheet, records)
    if not records:
        result.problems.append(Problem(sheet, None, None, "文件中没有数据行。"))
        return result
    model = MODELS[kind]
    found = _matches(model, records, lock)
    matched, merged, errors = [], [], {}
    for number, record in enumerate(records, start=1):
        data = record.data
        key = (
            _text(data.get("document_number")),
            credit_code_form(_text(data.get("authority_credit_code"))),
        )
        candidates = found.get(key, [])
        decision = candidates[0] if len(candidates) == 1 else None
        if len(candidates) > 1:
            errors[f"{number}.document_number"] = [
                f"已有 {len(candidates)} 条决定的文书号和机关统一社会信用代码都与本行相同"
                f"（{'、'.join(label(d) for d in candidates[:5])}），无法确定修改哪一条："
                "请在“双公示决定”页面逐条修改。"
            ]
        if decision is not None:
            result.versions[decision.id] = (decision.version, label(decision))
            data = {**operations.record_data(decision), **data}  # absent columns are kept
        matched.append(decision)
        merged.append(data)
    checked, more = operations.check_many(model, merged, [d and d.id for d in matched])
    for path, messages in more.items():
        errors.setdefault(path, []).extend(messages)
    _problems(result, errors)
    if result.problems:
        return result
    for record, decision, data, values in zip(records, matched, merged, checked, strict=True):
        if decision is None:
            result.new.append(record)
            result.new_values.append(values)
            result.keys.append((values["authority"], values["document_number"]))
        elif changes := operations.differences(decision, values):
            result.updates.append((decision, values))
            fields = _shown(kind, changes, operations.record_data(decision), data)
            result.changed.append(
                Change(record.row, decision.document_number, decision.authority, fields)
            )
        else:
            result.unchanged.append(record)
    return result


def _problems(result: Preview, errors: dict[str, list[str]]) -> None:
    """The checks' errors as problems of cells, by row, at most MAX_PROBLEMS."""
    ordered = sorted(errors.items(), key=lambda item: int(item[0].partition(".")[0]))
    for path, messages in ordered:
        number, _dot, key = path.partition(".")
        row = result.records[int(number) - 1].row
        column = HEADERS[result.kind].get(key, key)
        result.problems.append(Problem(result.sheet, row, column, " ".join(messages)))
        if len(result.problems) >= MAX_PROBLEMS:
            more = f"问题过多，只列出前 {MAX_PROBLEMS} 处。"
            result.problems.append(Problem(result.sheet, None, None, more))
            return


def _shown(kind: str, changes: dict, current: dict, data: dict) -> list[tuple[str, str, str]]:
    """The changed fields in the template's order, as staff read them: the item by its code,
    an enumeration in words, an amount in 万元, an empty field as （空）."""
    by_column = {STORED_AS.get(name, name): pair for name, pair in changes.items()}
    shown = []
    for column in COLUMNS[kind]:
        if column.key not in by_column:
            continue
        if column.key in STORED_AS.values():  # ids: shown by the codes they were read from
            old, new = current[column.key], _text(data.get(column.key)) or None
        else:
            old, new = by_column[column.key]
        shown.append((column.header, _words(old), _words(new)))
    return shown


def _words(value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, LabelledEnum):
        return value.label
    if isinstance(value, Decimal):
        return amount_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
