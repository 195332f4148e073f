"""An item for staff, and its review (审核): the draft's diff, its policy warnings with who
acknowledged them, its effect on the catalog's ratios; submit, return, publish, discard,
retire. Every action goes through catalog.operations.items; @transaction commits it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from catalog.domain import DomainError
from catalog.drafts import (
    RatioPreview,
    current_data,
    diff,
    editable_version,
    preview,
    published_data,
)
from catalog.edge import keep_nothing, transaction
from catalog.elements import LABELS, describe, gaps
from catalog.extensions import db
from catalog.models import ApprovalItem, AuditEvent, ItemDraft
from catalog.operations import items as operations
from catalog.ratios import editor_warnings
from catalog.staff.forms import LogoutForm, NewHandlingForm, RetireForm, ReviewForm
from catalog.staff.permissions import can_edit, can_publish, requires
from catalog.staff.views import blueprint, handling_or_404, item_or_404


@dataclass(frozen=True)
class Warning:
    """A warning of a handling item in the draft, and its acknowledgement (if any; a
    plausibility warning, such as steps over the promise, needs none)."""

    code: str
    label: str
    by: str | None
    at: str | None
    needs_acknowledgement: bool = True


def draft_warnings(draft: ItemDraft) -> list[Warning]:
    """Every warning the draft's handling items carry (the editor's: catalog.ratios.
    editor_warnings), each policy warning with who acknowledged it (none for one the published
    item already carried, which no one changed)."""
    acknowledged = {(a["code"], a["rule"]): a for a in draft.acknowledgements or []}
    warnings = []
    for handling in draft.data["handling_items"]:
        for rule in editor_warnings(handling):
            ack = acknowledged.get((handling["code"], rule.value), {})
            warnings.append(Warning(handling["code"], rule.label, ack.get("by"), ack.get("at"),
                                    rule.needs_acknowledgement))  # fmt: skip
    return warnings


def may_publish_draft(draft: ItemDraft | None) -> bool:
    """Whether the signed-in reviewer may publish this draft: four eyes forbid one that holds
    their own changes, unless REVIEW_FOUR_EYES is off."""
    if draft is None:
        return False
    return not operations.four_eyes() or current_user.username not in (draft.contributors or [])


@blueprint.get("/items/<code>")
@requires(can_edit)
def item(code: str):
    """One item for staff: its draft for review, its handling items, its history."""
    found = item_or_404(code)
    history = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_code == found.code)
        .order_by(AuditEvent.id.desc()).limit(100)
    ).all()  # fmt: skip
    draft = found.draft
    effect: RatioPreview | None = preview(found, draft.data) if draft else None
    version = editable_version(found)
    published_codes = {h.code for h in found.handling_items}
    pending_handling = draft.data["handling_items"] if draft else []
    return render_template(
        "staff/item.html",
        item=found,
        draft=draft,
        pending=diff(published_data(found), draft.data) if draft else {},
        warnings=draft_warnings(draft) if draft else [],
        effect=effect,
        history=history,
        review_form=ReviewForm(version=version),
        draft_only=[h for h in pending_handling if h["code"] not in published_codes],
        new_handling_form=NewHandlingForm(version=version),
        retire_form=RetireForm(version=version),
        may_publish=can_publish(current_user),
        may_publish_this=may_publish_draft(draft),
        gaps=gaps(current_data(found)),
        describe=describe,
        element_labels=LABELS,
        four_eyes=operations.four_eyes(),
        logout_form=LogoutForm(),
    )


def _refused(item: ApprovalItem, refusal: DomainError):
    """Back to the item's page with the refusal's message; nothing of the request is kept."""
    keep_nothing()
    flash(("未完成：" if refusal.status != 409 else "") + refusal.message)
    return redirect(url_for("staff.item", code=item.code))


def _review_action(code: str, act: Any, done: str):
    """Run one review action from the item page's form; its message or the refusal's."""
    item = item_or_404(code)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        act(item, form)
    except DomainError as refusal:
        return _refused(item, refusal)
    flash(done)
    return redirect(url_for("staff.item", code=item.code))


@blueprint.post("/items/<code>/submit")
@requires(can_edit)
@transaction
def submit(code: str):
    """The editor hands the draft to review."""
    return _review_action(code, lambda item, form: operations.submit(
        item, actor=current_user, expected_version=form.version.data, note=form.note.data
    ), "已提交审核，等待审核人员发布或退回。")  # fmt: skip


@blueprint.post("/items/<code>/return")
@requires(can_publish)
@transaction
def return_to_editor(code: str):
    """A reviewer sends the draft back with a note."""
    return _review_action(code, lambda item, form: operations.return_to_editor(
        item, actor=current_user, expected_version=form.version.data, note=form.note.data
    ), "已退回修改，编辑将在事项页面看到您的审核意见。")  # fmt: skip


@blueprint.post("/items/<code>/publish")
@requires(can_publish)
@transaction
def publish(code: str):
    return _review_action(code, lambda item, form: operations.publish(
        item, actor=current_user, expected_version=form.version.data, note=form.note.data
    ), "已审核通过并发布。")  # fmt: skip


@blueprint.post("/items/<code>/discard")
@requires(can_edit)
@transaction
def discard(code: str):
    """Drop an item's pending draft."""
    return _review_action(code, lambda item, form: operations.discard(
        item, actor=current_user, expected_version=form.version.data
    ), "已放弃草稿。")  # fmt: skip


@blueprint.post("/handling/<code>/retire")
@requires(can_publish)
@transaction
def retire_handling(code: str):
    """Withdraw one handling item from the public catalog."""
    handling = handling_or_404(code)
    form = RetireForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        operations.retire_handling_item(handling, actor=current_user, reason=form.reason.data)
    except DomainError as refusal:
        return _refused(handling.item, refusal)
    flash(f"业务办理项 {handling.code} 已停用。")
    return redirect(url_for("staff.item", code=handling.item.code))


@blueprint.post("/items/<code>/retire")
@requires(can_publish)
@transaction
def retire(code: str):
    item = item_or_404(code)
    form = RetireForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        operations.retire_item(
            item, actor=current_user, reason=form.reason.data, expected_version=form.version.data
        )
    except DomainError as refusal:
        return _refused(item, refusal)
    flash("事项已停用。")
    return redirect(url_for("staff.item", code=item.code))
