"""Every staff change to an approval item: create, save a draft, submit, return, publish,
discard, retire. Each checks who may do it and which version it was based on, writes its audit
record in the same transaction, and flushes; the edge (catalog.edge) commits.

An item's draft is its one pending revision (models.ItemDraft), in one of three states:

    草稿 draft ──submit (editor)──> 待审核 submitted ──publish (reviewer)──> published rows
      ^   │                              │
      │   └── save (editor) <────────────┴──return with a note (reviewer)──> 退回修改 returned
      └──────────────────────── save, then submit again (editor) <─────────────────┘

Saving into a submitted revision takes it back to draft: it must be submitted again. Discarding
drops the revision in any state. Publishing needs a submitted revision, and (four eyes) a
reviewer who saved none of its changes, unless REVIEW_FOUR_EYES is off, when the audit record
marks the change self-published. A new item starts as unpublished rows with a draft holding the
same data; its first publish makes it public. docs/review.md says the same for staff.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from catalog.audit import record
from catalog.domain import Conflict, Invalid, NotAllowed, written_or
from catalog.drafts import (
    current_data,
    diff,
    editable_version,
    preview,
    published_data,
)
from catalog.enums import ReviewState, Status
from catalog.extensions import db
from catalog.models import ApprovalItem, AuditAction, HandlingItem, ItemDraft, Role, User, utcnow
from catalog.operations.actor import Actor
from catalog.ratios import warnings_for
from catalog.schemas import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from catalog.services import check_item_data, new_item_rows, set_status, write_item

Who = User | Actor | str


class EditConflict(Conflict):
    """The item or its draft changed since the form was opened; nothing was written over it.
    `current` is what is there now, `current_version` the version a new form carries."""

    def __init__(self, current: dict[str, Any], current_version: str):
        self.current = current
        self.current_version = current_version
        super().__init__("在您编辑期间该事项已被他人修改，本次提交未保存。请查看差异后重新提交。")


def four_eyes() -> bool:
    """Whether no one may publish a draft that holds their own changes (REVIEW_FOUR_EYES)."""
    return bool(current_app.config["REVIEW_FOUR_EYES"])


MAX_REASON_LENGTH = 2000  # a reason or review note: a paragraph, not a document


def _note(note: str | None) -> str | None:
    """An optional reason or note, trimmed; None when blank."""
    note = (note or "").strip()
    if len(note) > MAX_REASON_LENGTH:
        raise Invalid({"reason": [f"不能超过{MAX_REASON_LENGTH}个字符。"]})
    if has_control_characters(note):
        raise Invalid({"reason": [CONTROL_CHARACTERS_MESSAGE]})
    return note or None


def _reason(reason: str | None, message: str = "请说明修改原因。") -> str:
    """A required reason or note, trimmed."""
    reason = _note(reason)
    if reason is None:
        raise Invalid({"reason": [message]})
    return reason


def check_version(item: ApprovalItem, expected_version: str | None) -> None:
    """Refuse a stale version. The item's row is locked first (PostgreSQL), so that a save
    racing this one in another process finishes before the check reads what it left; the
    version counters still catch what the lock cannot (SQLite has no row locks)."""
    db.session.refresh(item, with_for_update=True)
    if item.draft is not None:
        db.session.refresh(item.draft)
    if str(expected_version) != editable_version(item):
        raise EditConflict(current_data(item), editable_version(item))


def _pending(item: ApprovalItem, *, message: str) -> ItemDraft:
    if item.draft is None:
        raise Invalid({"_schema": [message]})
    return item.draft


def _acknowledge(
    before: dict[str, Any], after: dict[str, Any], actor: Actor, acknowledged: bool
) -> list[dict[str, Any]]:
    """The policy warnings of the handling items this save changes or adds, each with who
    acknowledged it; refused (400) when there are some and they were not acknowledged."""
    old = {h["code"]: h for h in before["handling_items"]}
    raised = [
        (handling["code"], rule)
        for handling in after["handling_items"]
        if old.get(handling["code"]) != handling
        for rule in warnings_for(handling)
    ]
    if raised and not acknowledged:
        raise Invalid({"acknowledge": ["请确认已知晓政策提示。"]})
    now = utcnow().isoformat(timespec="seconds")
    return [
        {"code": code, "rule": rule.value, "label": rule.label, "by": actor.name, "at": now}
        for code, rule in raised
    ]


def create_item(
    data: dict[str, Any],
    *,
    actor: Who,
    reason: str | None,
    action: AuditAction = AuditAction.create,
) -> ApprovalItem:
    """A new item: its rows, unpublished (never public), and its draft with the same data,
    which an editor submits and a reviewer publishes like any other change."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能新建事项。")
    reason = _reason(reason)
    item, changes = new_item_rows(data, Status.unpublished)
    acknowledgements = _acknowledge({"handling_items": []}, published_data(item), actor, True)
    draft = ItemDraft(
        item=item, data=published_data(item), base_version=item.version, author=actor.name,
        reason=reason, contributors=[actor.name], acknowledgements=acknowledgements,
    )  # fmt: skip
    db.session.add(draft)
    db.session.flush()
    record(
        actor=actor.name, action=action, object_type="item", object_code=item.code,
        changes={**changes, "revision.state": (None, ReviewState.draft)}, reason=reason,
        details={"acknowledged": acknowledgements} if acknowledgements else None,
    )  # fmt: skip
    return item


def save_draft(
    item: ApprovalItem,
    data: dict[str, Any],
    *,
    actor: Who,
    reason: str | None,
    expected_version: str | None,
    acknowledged: bool = False,
    action: AuditAction = AuditAction.draft,
) -> ItemDraft:
    """Check `data` against every rule and keep it as the item's draft. The policy warnings
    of what it changes must be acknowledged (`acknowledged`); a submitted draft goes back to
    draft and must be submitted again."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能编辑事项。")
    reason = _reason(reason)
    check_version(item, expected_version)
    before = current_data(item)
    canonical = check_item_data(data, item)
    changes = diff(before, canonical)
    if not changes:
        raise Invalid({"_schema": ["没有任何修改。"]})
    acknowledgements = _acknowledge(before, canonical, actor, acknowledged)

    # The draft is written in a savepoint opened before it is touched (opening one flushes
    # what is pending, so a draft added before it would be inserted outside it): two editors
    # saving an item's first draft at once both insert one, and the unique item key refuses
    # the second (SQLite has no row lock to make it wait). That is a conflict (409): the
    # savepoint is rolled back and the transaction stays usable to read what won.
    def lost_race() -> EditConflict:
        db.session.expire_all()
        return EditConflict(current_data(item), editable_version(item))

    with written_or(lost_race):
        draft, old_state = _write_draft(item, canonical, actor, reason, acknowledgements)
    if old_state != draft.state:
        changes["revision.state"] = (old_state, draft.state)
    record(
        actor=actor.name, action=action, object_type="item", object_code=item.code,
        changes=changes, reason=reason,
        details={"acknowledged": acknowledgements} if acknowledgements else None,
    )  # fmt: skip
    return draft


def _write_draft(
    item: ApprovalItem,
    data: dict[str, Any],
    actor: Actor,
    reason: str,
    acknowledgements: list[dict[str, Any]],
) -> tuple[ItemDraft, ReviewState | None]:
    """Create or update the item's draft with `data`; the draft and its state before."""
    draft = item.draft
    if draft is None:
        draft = ItemDraft(item=item, base_version=item.version, contributors=[])
        db.session.add(draft)
    old_state = draft.state if draft.id is not None else None
    if old_state == ReviewState.submitted:
        draft.state = ReviewState.draft
    replaced = {(a["code"], a["rule"]) for a in acknowledgements}
    kept = [a for a in draft.acknowledgements or [] if (a["code"], a["rule"]) not in replaced]
    draft.data, draft.author, draft.reason = data, actor.name, reason
    draft.acknowledgements = kept + acknowledgements
    if actor.name not in (draft.contributors or []):
        draft.contributors = [*(draft.contributors or []), actor.name]
    db.session.flush()
    return draft, old_state


def submit(
    item: ApprovalItem, *, actor: Who, expected_version: str | None, note: str | None = None
) -> None:
    """The editor hands the draft to review (草稿 or 退回修改 → 待审核)."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能提交审核。")
    draft = _pending(item, message="该事项没有草稿可提交。")
    check_version(item, expected_version)
    if draft.state == ReviewState.submitted:
        raise Invalid({"_schema": ["该草稿已提交审核，无需重复提交。"]})
    old_state = draft.state
    draft.state = ReviewState.submitted
    draft.submitted_by, draft.submitted_at = actor.name, utcnow()
    db.session.flush()
    record(
        actor=actor.name, action=AuditAction.submit, object_type="item", object_code=item.code,
        changes={"revision.state": (old_state, ReviewState.submitted)},
        reason=_note(note),
    )  # fmt: skip


def return_to_editor(
    item: ApprovalItem, *, actor: Who, expected_version: str | None, note: str | None
) -> None:
    """A reviewer sends a submitted draft back with a note (待审核 → 退回修改)."""
    actor = Actor.of(actor)
    actor.require(Role.reviewer, "只有审核人员可以退回草稿。")
    note = _reason(note, "退回时须填写审核意见，说明需要修改什么。")
    draft = _pending(item, message="该事项没有待审核的草稿。")
    check_version(item, expected_version)
    if draft.state != ReviewState.submitted:
        raise Invalid({"_schema": ["只能退回待审核的草稿（该草稿尚未提交或已退回）。"]})
    draft.state, draft.review_note, draft.reviewed_by = ReviewState.returned, note, actor.name
    db.session.flush()
    record(
        actor=actor.name, action=AuditAction.return_, object_type="item", object_code=item.code,
        changes={"revision.state": (ReviewState.submitted, ReviewState.returned)}, reason=note,
    )  # fmt: skip


def publish(
    item: ApprovalItem, *, actor: Who, expected_version: str | None, note: str | None = None
) -> dict[str, Any]:
    """Publish a submitted draft into the item's rows (reviewers): one audit record with every
    field changed (old → new), the status changes, the warnings the editors acknowledged and
    the effect on the six ratios and the policy exception counts. Returns its changes."""
    actor = Actor.of(actor)
    actor.require(Role.reviewer, "只有审核人员可以发布。")
    note = _note(note)
    draft = _pending(item, message="该事项没有待发布的草稿（可能已被发布或放弃）。")
    check_version(item, expected_version)
    if draft.state != ReviewState.submitted:
        raise Invalid({"_schema": ["草稿须先由编辑提交审核，才能发布。"]})
    own = actor.name in (draft.contributors or [])
    if own and four_eyes() and not actor.is_command:
        raise NotAllowed("该草稿包含您本人的修改，须由其他审核人员发布（四眼原则）。")
    effect = preview(item, draft.data)
    before = item.version
    changes: dict[str, Any] = dict(
        set_status(item, Status.published, from_statuses=(Status.unpublished,))
    )
    with db.session.no_autoflush:  # the status and the data in one UPDATE: one version step
        changes.update(write_item(item, draft.data))
    changes["revision.state"] = (ReviewState.submitted, None)
    details = {
        "acknowledged": draft.acknowledgements or [],
        "ratios": effect.as_changes(),
        "contributors": draft.contributors or [],
        "submitted_by": draft.submitted_by,
        "self_published": own,
    }
    record(
        actor=actor.name, action=AuditAction.publish, object_type="item", object_code=item.code,
        changes=changes, reason=draft.reason + (f"（审核意见：{note}）" if note else ""),
        details=details,
    )  # fmt: skip
    _end_revision(item, bumped=item.version != before)
    return changes


def discard(item: ApprovalItem, *, actor: Who, expected_version: str | None) -> None:
    """Drop the pending draft; the item's rows stay as they are."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能放弃草稿。")
    draft = _pending(item, message="该事项没有草稿（可能已被发布或放弃）。")
    check_version(item, expected_version)
    changes = diff(draft.data, published_data(item))
    changes["revision.state"] = (draft.state, None)
    _end_revision(item, bumped=False)
    record(actor=actor.name, action=AuditAction.discard, object_type="item",
           object_code=item.code, changes=changes, reason="放弃草稿")  # fmt: skip


def _end_revision(item: ApprovalItem, *, bumped: bool) -> None:
    """Delete the draft. Unless publishing already gave the item a new version, give it one:
    the next draft starts at version 1 again, so without it a form opened on the ended draft
    ("N.1") would match the next one."""
    db.session.delete(item.draft)
    item.draft = None
    if not bumped:
        item.updated_at = utcnow()
    db.session.flush()


def retire_item(
    item: ApprovalItem, *, actor: Who, reason: str | None, expected_version: str | None = None
) -> None:
    """Take an item and its handling items off the public catalog (kept, never deleted)."""
    actor = Actor.of(actor)
    actor.require(Role.reviewer, "只有审核人员可以停用事项。")
    reason = _reason(reason, "停用事项须说明原因。")
    if expected_version is not None:
        check_version(item, expected_version)
    if item.status == Status.retired:
        raise Invalid({"_schema": ["该事项已停用。"]})
    changes = set_status(item, Status.retired, from_statuses=(Status.unpublished, Status.published))
    db.session.flush()
    record(actor=actor.name, action=AuditAction.retire, object_type="item",
           object_code=item.code, changes=changes, reason=reason)  # fmt: skip


def retire_handling_item(handling: HandlingItem, *, actor: Who, reason: str | None) -> None:
    """Withdraw one handling item (a situation no longer offered); kept, never deleted."""
    actor = Actor.of(actor)
    actor.require(Role.reviewer, "只有审核人员可以停用业务办理项。")
    reason = _reason(reason, "停用业务办理项须说明原因。")
    if handling.status == Status.retired:
        raise Invalid({"_schema": [f"业务办理项 {handling.code} 已停用。"]})
    changes = {f"handling_items.{handling.code}.status": (handling.status, Status.retired)}
    handling.status = Status.retired
    db.session.flush()
    record(actor=actor.name, action=AuditAction.retire, object_type="handling_item",
           object_code=handling.item.code, changes=changes, reason=reason)  # fmt: skip
