"""The guide's own elements on the staff edit forms (issue 23 part 2): an item's 常见问题 as
repeatable rows, a handling item's 在线办理地址. Form data in, item data out; every rule is the
service layer's (catalog.schemas, catalog.links)."""

from __future__ import annotations

from typing import Any

from catalog.staff.forms import BLANK_ROWS


def faq_from_form(entries) -> list[dict[str, str]]:
    """The kept question/answer rows, in the order staff numbered them. A row with neither a
    question nor an answer drops (a blank row); one with only one of them is kept, so that the
    service refuses it with its message instead of losing what was typed."""
    kept = [
        (entry.form.order.data if entry.form.order.data is not None else 10_000 + index, index,
         {"question": (entry.form.question.data or "").strip(),
          "answer": (entry.form.answer.data or "").strip()})
        for index, entry in enumerate(entries)
        if not entry.form.remove.data
        and ((entry.form.question.data or "").strip() or (entry.form.answer.data or "").strip())
    ]  # fmt: skip
    return [row for _order, _index, row in sorted(kept, key=lambda k: (k[0], k[1]))]


def faq_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """An item's FAQ (services.item_data shape; absent: none) as the form's numbered rows."""
    return [{**entry, "order": i + 1} for i, entry in enumerate(data.get("faq") or [])]


def add_blank_faq_rows(form, at_least: int = 0) -> None:
    """Somewhere to add a question: BLANK_ROWS empty rows past the item's own (at_least)."""
    while len(form.faq.entries) < at_least + BLANK_ROWS:
        form.faq.append_entry()


def online_url_from_form(value: str | None) -> str | None:
    """The address as typed, trimmed; empty: none."""
    return (value or "").strip() or None
