"""Staff editing pages: a handling item, an item's own elements, a new item. Every change
goes to the item's draft through catalog.operations.items; rules are the service layer's;
@transaction commits."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from catalog.domain import Conflict, Invalid
from catalog.drafts import current_data, diff, editable_version, preview
from catalog.edge import keep_nothing, start_over, transaction
from catalog.elements import NOT_PROVIDED, describe, gaps
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem, ItemDraft
from catalog.operations.items import EditConflict, create_item, save_draft
from catalog.ratios import editor_warnings
from catalog.services import check_item_data
from catalog.staff.forms import (
    BLANK_ROWS,
    HandlingItemForm,
    ItemForm,
    LogoutForm,
    NewHandlingForm,
    NewItemForm,
)
from catalog.staff.guide_fields import (
    add_blank_faq_rows,
    faq_from_form,
    faq_rows,
)
from catalog.staff.handling_data import (
    ROW_FIELDS,
    handling_form_from,
    handling_position,
    pending_handling_data,
    rows_from,
)
from catalog.staff.permissions import can_edit, requires
from catalog.staff.views import blueprint, item_or_404


@dataclass(frozen=True)
class DraftHandlingItem:
    """A handling item that exists only in its item's draft so far."""

    code: str
    situation: str


def _editable_or_404(code: str) -> tuple[ApprovalItem, Any]:
    """The item and handling item to edit: a published row, or one only a draft holds."""
    row = db.session.scalar(sa.select(HandlingItem).where(HandlingItem.code == code[:50]))
    if row is not None:
        return row.item, row
    for draft in db.session.scalars(sa.select(ItemDraft)):
        for handling in draft.data["handling_items"]:
            if handling["code"] == code:
                return draft.item, DraftHandlingItem(code, handling["situation"])
    abort(404)


@blueprint.post("/items/<code>/handling/new")
@requires(can_edit)
@transaction
def new_handling(code: str):
    """Add a handling item to the item's draft, starting from a copy of its first one."""
    item = item_or_404(code)
    form = NewHandlingForm()
    if not form.validate_on_submit():
        flash("请填写新业务办理项的编码。")
        return redirect(url_for("staff.item", code=item.code))
    data = copy.deepcopy(current_data(item))
    added = {
        **copy.deepcopy(data["handling_items"][0]),
        "code": form.code.data.strip(),
        "situation": (form.situation.data or "").strip() or None,
    }
    data["handling_items"].append(added)
    try:
        save_draft(
            item,
            data,
            actor=current_user,
            reason=f"新增业务办理项 {added['code']}（{added['situation'] or NOT_PROVIDED}）",
            expected_version=form.version.data,
            acknowledged=True,  # a copy of the first one: its warnings are shown when editing
        )
    except Conflict:
        keep_nothing()
        flash("在您操作期间事项已被修改，请重新查看后再添加。")
        return redirect(url_for("staff.item", code=item.code))
    except Invalid as exc:
        keep_nothing()
        flash("未添加：" + exc.message)
        return redirect(url_for("staff.item", code=item.code))
    flash("已在草稿中新增业务办理项，请完善其内容。")
    return redirect(url_for("staff.edit_handling", code=added["code"]))


@blueprint.route("/handling/<code>/edit", methods=["GET", "POST"])
@requires(can_edit)
@transaction
def edit_handling(code: str):
    """Edit one handling item into the item's draft, with policy warnings and a ratio preview."""
    item, handling = _editable_or_404(code)
    data = current_data(item)
    # the materials as saved: each links to its files' page (catalog.staff.attachments)
    saved = data["handling_items"][handling_position(data, code)]["materials"]
    saved_materials = [material["name"] for material in saved]

    def page(form, *, errors=None, warnings=(), ratio_preview=None, caption=None, status=200):
        for name in ROW_FIELDS:  # always somewhere to add an entry
            while len(getattr(form, name).entries) < BLANK_ROWS:
                getattr(form, name).append_entry()
        return render_template(
            "staff/edit_handling.html", form=form, item=item, handling=handling,
            errors=errors or {}, warnings=warnings, preview=ratio_preview,
            preview_caption=caption, needs_acknowledgement=_needs_acknowledgement(warnings),
            index=handling_position(data, code), logout_form=LogoutForm(),
            saved_materials=saved_materials,
        ), status  # fmt: skip

    if request.method == "GET":
        # what the item as it stands now (its draft, or the published rows) does to the
        # catalog, and its warnings: shown at the top before anything is changed
        return page(
            handling_form_from(data, code, editable_version(item)),
            warnings=editor_warnings(data["handling_items"][handling_position(data, code)]),
            ratio_preview=preview(item, data),
            caption=_standing_caption(item),
        )
    form = HandlingItemForm()
    if request.form.get("action") == "more":
        for name in ROW_FIELDS:
            for _blank in range(BLANK_ROWS):
                getattr(form, name).append_entry()
        return page(form)
    if not form.validate_on_submit():
        return page(form, status=400)
    data = pending_handling_data(item, code, form)
    warnings = editor_warnings(data["handling_items"][handling_position(data, code)])
    if request.form.get("action") != "save":
        ratio_preview, errors = _check_and_preview(item, data)
        return page(
            form,
            errors=errors,
            warnings=warnings,
            ratio_preview=ratio_preview,
            status=400 if errors else 200,
        )
    try:
        save_draft(
            item,
            data,
            actor=current_user,
            reason=form.reason.data,
            expected_version=form.version.data,
            acknowledged=bool(form.acknowledge.data),
        )
    except (EditConflict, StaleDataError) as lost:
        current, version = _what_won(item, lost)
        redo = handling_form_from(data, code, version)
        redo.reason.data = form.reason.data
        return render_template(
            "staff/conflict.html",
            item=item,
            handling=handling,
            diff_changes=diff(current, data),
            form=redo,
            form_template="staff/_handling_form.html",
            index=handling_position(data, code),
            logout_form=LogoutForm(),
        ), 409
    except Invalid as exc:
        # what publishing this would do (when every rule passes), beside the warnings
        ratio_preview = _check_and_preview(item, data)[0]
        return page(
            form, errors=exc.errors, warnings=warnings, ratio_preview=ratio_preview, status=400
        )
    _saved(data)
    return redirect(url_for("staff.item", code=item.code))


def _needs_acknowledgement(warnings) -> bool:
    """Whether any of the warnings shown is a policy rule the editor must acknowledge."""
    return any(warning.needs_acknowledgement for warning in warnings)


def _standing_caption(item: ApprovalItem) -> str:
    if item.draft is not None:
        return "当前草稿发布后，全局指标的变化"
    return "尚无草稿：已发布内容即当前指标（修改后可预览变化）"


def _saved(data: dict[str, Any]) -> None:
    flash("已保存到草稿。修改完成后，请在事项页面“提交审核”。")
    flash("草稿" + describe(gaps(data)) + "。")


def _what_won(item: ApprovalItem, lost: Exception) -> tuple[dict[str, Any], str]:
    """The item's data and version after a save lost to another: from the version check, or,
    when the other save committed while this one was writing (a version counter refused the
    UPDATE), read again once this request's writes are rolled back."""
    if isinstance(lost, EditConflict):
        return lost.current, lost.current_version
    start_over()
    return current_data(item), editable_version(item)


def _check_and_preview(item: ApprovalItem, data: dict[str, Any]):
    """(the ratio preview, no errors) for data that passes every rule, else (None, errors)."""
    try:
        return preview(item, check_item_data(data, item)), {}
    except Invalid as exc:
        return None, exc.errors


ITEM_TEXT_FIELDS = ("name", "type", "implementing_body", "handling_unit", "exercise_level",
                    "power_source", "service_targets", "conditions", "consultation", "complaint",
                    "location", "hours")  # fmt: skip


def _item_form_from(data: dict[str, Any], version: str) -> ItemForm:
    form = ItemForm(
        version=version,
        result_name=data["result"]["name"],
        result_type=data["result"]["type"],
        legal_basis=[{**basis, "order": i + 1} for i, basis in enumerate(data["legal_basis"])],
        faq=faq_rows(data),
        formdata=None,
        **{name: data[name] for name in ITEM_TEXT_FIELDS},
    )
    for _blank in range(BLANK_ROWS):
        form.legal_basis.append_entry()
    add_blank_faq_rows(form, len(data.get("faq") or []))
    return form


@blueprint.route("/items/<code>/edit", methods=["GET", "POST"])
@requires(can_edit)
@transaction
def edit_item(code: str):
    """Edit the elements of the item itself into its draft."""
    item = item_or_404(code)
    data = current_data(item)

    def page(form, errors=None, status=200, shown=None, ratio_preview=None, caption=None):
        while len(form.legal_basis.entries) < len(data["legal_basis"]) + BLANK_ROWS:
            form.legal_basis.append_entry()
        add_blank_faq_rows(form, len(data.get("faq") or []))
        return render_template(
            "staff/edit_item.html",
            form=form,
            item=item,
            errors=errors or {},
            preview=ratio_preview,
            preview_caption=caption,
            warnings=[
                (handling["code"], warning)
                for handling in (shown or data)["handling_items"]
                for warning in editor_warnings(handling)
            ],
            logout_form=LogoutForm(),
        ), status

    if request.method == "GET":
        return page(
            _item_form_from(data, editable_version(item)),
            shown=data,
            ratio_preview=preview(item, data),
            caption=_standing_caption(item),
        )
    form = ItemForm()
    if not form.validate_on_submit():
        return page(form, status=400)
    pending = copy.deepcopy(data)
    pending.update({name: getattr(form, name).data for name in ITEM_TEXT_FIELDS})
    pending["result"] = {"name": form.result_name.data, "type": form.result_type.data}
    pending["legal_basis"] = [
        {"law": row["law"], "article": (row["article"] or "").strip() or None,
         "text": (row["text"] or "").strip() or None}
        for row in rows_from(form.legal_basis, key="law")
    ]  # fmt: skip
    pending["faq"] = faq_from_form(form.faq)
    if request.form.get("action") == "preview":
        ratio_preview, errors = _check_and_preview(item, pending)
        return page(
            form, errors=errors, status=400 if errors else 200, shown=pending,
            ratio_preview=ratio_preview, caption="按此修改发布后，全局指标的变化",
        )  # fmt: skip
    try:
        save_draft(
            item,
            pending,
            actor=current_user,
            reason=form.reason.data,
            expected_version=form.version.data,
        )
    except (EditConflict, StaleDataError) as lost:
        current, version = _what_won(item, lost)
        redo = _item_form_from(pending, version)
        redo.reason.data = form.reason.data
        return render_template(
            "staff/conflict.html",
            item=item,
            diff_changes=diff(current, pending),
            form=redo,
            form_template="staff/_item_form.html",
            logout_form=LogoutForm(),
        ), 409
    except Invalid as exc:
        return page(form, errors=exc.errors, status=400)
    _saved(pending)
    return redirect(url_for("staff.item", code=item.code))


@blueprint.route("/items/new", methods=["GET", "POST"])
@requires(can_edit)
@transaction
def new_item():
    """Create an item (as a draft: not public until a reviewer publishes it)."""
    form = NewItemForm()
    if request.method == "GET":
        form.legal_basis.append_entry()
        for _blank in range(BLANK_ROWS):
            form.legal_basis.append_entry()
        add_blank_faq_rows(form)
        return render_template(
            "staff/new_item.html", form=form, errors={}, logout_form=LogoutForm()
        )
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in ITEM_TEXT_FIELDS}
        data.update(
            code=form.code.data,
            result={"name": form.result_name.data, "type": form.result_type.data},
            legal_basis=[{"law": row["law"], "article": (row["article"] or "").strip() or None,
                          "text": (row["text"] or "").strip() or None}
                         for row in rows_from(form.legal_basis, key="law")],
            faq=faq_from_form(form.faq),
            handling_items=[{
                "code": form.handling_code.data,
                "situation": (form.situation.data or "").strip() or None,
                "case_type": form.case_type.data, "statutory_days": form.statutory_days.data,
                "promised_days": form.promised_days.data, "visits": 0, "visit_reason": None,
                # not asked here: missing until staff fill them in (catalog.elements)
                "forms": [], "online_depth": None, "fees": None, "materials": [], "steps": [],
            }],
        )  # fmt: skip
        try:
            item = create_item(data, actor=current_user, reason=form.reason.data)
        except Invalid as exc:
            errors = exc.errors
        else:
            flash("已新建事项（未发布，内容在草稿中）。请补充材料、收费等，再提交审核。")
            flash("草稿" + describe(gaps(data)) + "。")
            return redirect(url_for("staff.item", code=item.code))
    return render_template(
        "staff/new_item.html", form=form, errors=errors, logout_form=LogoutForm()
    ), 400
