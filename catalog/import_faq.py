"""The optional 常见问题 sheet of an import (事项编码, 问题, 解答; catalog.spreadsheets.FAQ_SHEET):
its rows -> each item's FAQ, in row order. An item the sheet lists gets exactly the questions
listed; an item it does not list, and every item of a file without the sheet, keeps its own
(an import never deletes; catalog.importing). The questions' rules are the service layer's
(catalog.schemas.FaqEntrySchema): a refusal is located back at its row here."""

from __future__ import annotations

from typing import Any

from catalog.spreadsheet_reading import Problem, Row
from catalog.spreadsheets import FAQ_COLUMNS, FAQ_SHEET

ITEM_CODE, QUESTION, ANSWER = (column.header for column in FAQ_COLUMNS)
FAQ_KEY = "faq"  # the item data's key (services.item_data)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def attach_faq(items: dict[str, Any], rows: list[Row] | None, problems: list[Problem]) -> None:
    """Each FAQ row to its item (ParsedItem by code): the item's data gets "faq" and its
    faq_rows the row of each entry. A row naming no item, or one the item sheet lacks, is a
    problem of its own row."""
    if rows is None:
        return
    sheet = getattr(rows, "sheet", FAQ_SHEET)
    for row in rows:
        code = _text(row.cells.get(ITEM_CODE))
        if not code:
            problems.append(Problem(sheet, row.number, ITEM_CODE, "不能为空。"))
            continue
        parsed = items.get(code)
        if parsed is None:
            problems.append(
                Problem(sheet, row.number, ITEM_CODE, f"事项表中没有事项“{code[:50]}”。")
            )
            continue
        entries = parsed.data.setdefault(FAQ_KEY, [])
        entries.append(
            {"question": _text(row.cells.get(QUESTION)), "answer": _text(row.cells.get(ANSWER))}
        )
        parsed.faq_rows.append(row.number)
        parsed.faq_sheet = sheet


def locate(parsed: Any, parts: list[str]) -> Problem:
    """Where a service error on faq[.N[.question|answer]] stands: the entry's row of the FAQ
    sheet and its column (the last row listed when the whole list is refused: too many)."""
    rows = parsed.faq_rows or [None]
    index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else len(rows) - 1
    column = {"question": QUESTION, "answer": ANSWER}.get(parts[2] if len(parts) > 2 else "")
    return Problem(parsed.faq_sheet, rows[min(index, len(rows) - 1)], column, "")
