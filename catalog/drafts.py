"""Drafts: staff edit a copy; the public sees the published rows until a reviewer publishes.

A draft holds the whole item as data (the shape of services.item_data). Saving one checks
every rule, refuses a stale version (optimistic locking: the editor's form carries the version
it started from), and writes an audit event; publishing applies it through update_item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog import figures
from catalog.audit import record
from catalog.enums import REPORTED_TYPES, ItemType, Status
from catalog.extensions import db
from catalog.models import ApprovalItem, AuditAction, ItemDraft, Role, User, utcnow
from catalog.ratios import CatalogFigures, figures_from_facts, handling_facts
from catalog.services import (
    CatalogValidationError,
    Changes,
    check_item_data,
    item_data,
    update_item,
)


class EditConflict(Exception):
    """Someone saved the item since the editor opened it; nothing was overwritten."""

    def __init__(self, current: dict[str, Any], current_version: str):
        self.current = current
        self.current_version = current_version
        super().__init__(f"version is now {current_version}")


class NotAllowed(Exception):
    """The actor's role does not allow this (checked here too, not only in the views)."""


def editable_version(item: ApprovalItem) -> str:
    """The version an edit form carries: the item's and its draft's ("3.0" without a draft),
    so that a form opened before a draft existed never matches the draft's own counter."""
    return f"{item.version}.{item.draft.version if item.draft is not None else 0}"


def published_data(item: ApprovalItem) -> dict[str, Any]:
    """The item's rows as data, content only: the status changes by publishing and retiring,
    not by editing."""
    return {key: value for key, value in item_data(item).items() if key != "status"}


def current_data(item: ApprovalItem) -> dict[str, Any]:
    """What an editor edits: the pending draft, or the item as published."""
    return item.draft.data if item.draft is not None else published_data(item)


def diff(old: Any, new: Any, path: str = "") -> Changes:
    """Field by field: {"handling_items.X-01.promised_days": (5, 3), ...}.

    Lists of handling items are matched by code; other lists are compared whole.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        changes: Changes = {}
        for key in [*old, *(k for k in new if k not in old)]:
            if key == "status":
                continue
            changes.update(diff(old.get(key), new.get(key), f"{path}.{key}" if path else key))
        return changes
    if path.endswith("handling_items") and isinstance(old, list) and isinstance(new, list):
        before = {h["code"]: h for h in old}
        after = {h["code"]: h for h in new}
        changes = {}
        for code in [*before, *(c for c in after if c not in before)]:
            changes.update(diff(before.get(code), after.get(code), f"{path}.{code}"))
        return changes
    return {} if old == new else {path: (old, new)}


def _check_version(item: ApprovalItem, expected_version: str | None) -> None:
    """Refuse a stale version. The item's row is locked first (PostgreSQL), so that a save
    racing this one in another process finishes before the check reads what it left; the
    version counters still catch what the lock cannot (SQLite has no row locks)."""
    db.session.refresh(item, with_for_update=True)
    if item.draft is not None:
        db.session.refresh(item.draft)
    if str(expected_version) != editable_version(item):
        raise EditConflict(current_data(item), editable_version(item))


def save_draft(
    item: ApprovalItem,
    data: dict[str, Any],
    *,
    actor: str,
    reason: str,
    expected_version: str | None,
    action: AuditAction = AuditAction.draft,
) -> ItemDraft:
    """Check `data` against every rule and keep it as the item's draft (actor: a username)."""
    if not (reason or "").strip():
        raise CatalogValidationError({"reason": ["请说明修改原因。"]})
    _check_version(item, expected_version)
    canonical = check_item_data(data, item)
    changes = diff(current_data(item), canonical)
    if not changes:
        raise CatalogValidationError({"_schema": ["没有任何修改。"]})
    draft = item.draft
    if draft is None:
        draft = ItemDraft(item=item, base_version=item.version, author=actor)
        db.session.add(draft)
    draft.data, draft.author, draft.reason = canonical, actor, reason.strip()
    db.session.flush()
    record(
        actor=actor,
        action=action,
        object_type="item",
        object_code=item.code,
        changes=changes,
        reason=reason.strip(),
    )
    return draft


def publish_draft(
    item: ApprovalItem, *, actor: User, expected_version: str | None, note: str | None = None
) -> Changes:
    """Apply the draft to the published rows (reviewers and admins only)."""
    if not actor.role.includes(Role.reviewer):
        raise NotAllowed("只有审核人员可以发布。")
    if item.draft is None:
        raise CatalogValidationError({"_schema": ["该事项没有待发布的草稿。"]})
    _check_version(item, expected_version)
    draft = item.draft
    reason = draft.reason + (f"（审核意见：{note.strip()}）" if note and note.strip() else "")
    changes = update_item(
        item, draft.data, actor=actor.username, reason=reason, action=AuditAction.publish
    )
    if item.status == Status.draft:
        item.status = Status.published
    for handling in item.handling_items:
        if handling.status == Status.draft:
            handling.status = Status.published
    if not changes:  # the reviewer's action leaves its trace even when nothing changed
        record(actor=actor.username, action=AuditAction.publish, object_type="item",
               object_code=item.code, changes={}, reason=reason)  # fmt: skip
    db.session.delete(draft)
    item.draft = None
    _end_draft_round(item)
    return changes


def _end_draft_round(item: ApprovalItem) -> None:
    """A new item version whenever a draft ends: the next draft starts at version 1 again, so
    without it a form opened on the ended draft ("N.1") would match the next one."""
    item.updated_at = utcnow()
    db.session.flush()


def discard_draft(item: ApprovalItem, *, actor: str, expected_version: str | None) -> None:
    """Drop the pending edits; the published rows stay as they are."""
    if item.draft is None:
        raise CatalogValidationError({"_schema": ["该事项没有待审核的草稿。"]})
    _check_version(item, expected_version)
    changes = diff(item.draft.data, published_data(item))
    db.session.delete(item.draft)
    item.draft = None
    _end_draft_round(item)
    record(
        actor=actor,
        action=AuditAction.discard,
        object_type="item",
        object_code=item.code,
        changes=changes,
        reason="放弃草稿",
    )


@dataclass(frozen=True)
class RatioPreview:
    before: CatalogFigures
    after: CatalogFigures


def _contribution(item_type: ItemType, handling_items: list[Any]) -> CatalogFigures:
    if item_type not in REPORTED_TYPES:
        return figures_from_facts([], [])
    return figures_from_facts([item_type], [handling_facts(h) for h in handling_items])


def preview(item: ApprovalItem, data: dict[str, Any]) -> RatioPreview:
    """The bureau's figures now, and as they would be with `data` published for this item.

    The catalog's figures come from the SQL aggregates; the item's own contribution is taken
    out and the pending one put in, so the preview costs the same on a province catalog.
    """
    before = figures.catalog_figures()
    published = [h for h in item.handling_items if h.status == Status.published]
    old = (
        _contribution(item.item_type, published)
        if item.status == Status.published
        else figures_from_facts([], [])
    )
    new = _contribution(ItemType(data["type"]), data["handling_items"])
    return RatioPreview(before=before, after=before - old + new)
