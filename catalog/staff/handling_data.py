"""The handling-item edit form and the item's data, each way: the form filled from a draft's
data, and the data a posted form makes (catalog.staff.editing). Every rule is the service
layer's; this only moves values."""

from __future__ import annotations

import copy
from typing import Any

from catalog.drafts import current_data
from catalog.models import ApprovalItem
from catalog.staff.forms import (
    BLANK_ROWS,
    CHARGES,
    NO_FEE,
    HandlingItemForm,
    files_from_form,
    files_to_form,
)
from catalog.staff.guide_fields import online_url_from_form


def handling_position(data: dict[str, Any], code: str) -> int:
    """Where a handling item stands in the item's data (rule errors name it by position)."""
    return next(i for i, h in enumerate(data["handling_items"]) if h["code"] == code)


ROW_FIELDS = {
    "materials": ("name", "kind", "form", "copies", "necessity", "source", "notes", "attachments"),
    "fees": ("name", "standard", "amount", "basis"),
    "steps": ("name", "days"),
}


def rows_from(entries, key: str = "name") -> list[dict[str, Any]]:
    """The kept rows of an editable list, in the order staff numbered them; rows whose `key`
    field is blank drop."""
    kept = [
        (entry.form.order.data if entry.form.order.data is not None else 10_000 + index, index,
         entry.form.data)
        for index, entry in enumerate(entries)
        if not entry.form.remove.data and (entry.form[key].data or "").strip()
    ]  # fmt: skip
    return [row for _order, _index, row in sorted(kept, key=lambda k: (k[0], k[1]))]


def pending_handling_data(item: ApprovalItem, code: str, form: HandlingItemForm) -> dict[str, Any]:
    """The item's current data with this handling item's fields taken from the form."""
    data = copy.deepcopy(current_data(item))
    handling = data["handling_items"][handling_position(data, code)]
    handling.update(
        situation=(form.situation.data or "").strip() or None,
        case_type=form.case_type.data,
        statutory_days=form.statutory_days.data,
        promised_days=form.promised_days.data,
        visits=int(form.visits.data),
        visit_reason=form.visit_reason.data or None,
        forms=form.forms.data,
        online_depth=None if form.online_depth.data is None else int(form.online_depth.data),
        online_url=online_url_from_form(form.online_url.data),
    )
    for name, fields in ROW_FIELDS.items():
        rows = [{field: row[field] for field in fields} for row in rows_from(getattr(form, name))]
        for row in rows:
            row["name"] = " ".join(row["name"].split())  # a wrapped name is one line
            for field in ("notes", "amount"):
                if field in row:
                    row[field] = (row[field] or "").strip() or None
            if "attachments" in row:  # carried through unchanged (catalog.staff.attachments)
                row["attachments"] = files_from_form(row["attachments"])
        handling[name] = rows
    # fee rows, or as 是否收费 says: 不收费, or not provided (收费 without a row: the service's
    # message asks for one)
    if not handling["fees"]:
        handling["fees"] = {NO_FEE: NO_FEE, CHARGES: [], None: None}[form.charges.data]
    return data


def handling_form_from(data: dict[str, Any], code: str, version: str) -> HandlingItemForm:
    """The edit form of handling item `code`, filled from the item's data, with blank rows to
    add materials, fees and steps."""
    handling = next(h for h in data["handling_items"] if h["code"] == code)
    fees = handling["fees"] if isinstance(handling["fees"], list) else []
    charges = CHARGES if fees else handling["fees"]  # NO_FEE, or None: not provided
    form = HandlingItemForm(
        version=version,
        situation=handling["situation"],
        case_type=handling["case_type"],
        statutory_days=handling["statutory_days"],
        promised_days=handling["promised_days"],
        visits=str(handling["visits"]),
        visit_reason=handling.get("visit_reason") or "",
        forms=handling["forms"],
        online_depth=handling["online_depth"],
        online_url=handling.get("online_url") or "",
        charges=charges,
        materials=[
            {**m, "order": i + 1, "attachments": files_to_form(m.get("attachments", []))}
            for i, m in enumerate(handling["materials"])
        ],
        fees=[{**f, "order": i + 1} for i, f in enumerate(fees)],
        steps=[{**s, "order": i + 1} for i, s in enumerate(handling["steps"])],
        formdata=None,
    )
    for name in ROW_FIELDS:
        for _blank in range(BLANK_ROWS):
            getattr(form, name).append_entry()
    return form
