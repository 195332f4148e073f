"""Applying an import's plan (catalog.importing): every item through the item operations, all
or nothing, and never over a version newer than the one its preview was built from."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from catalog.domain import NotAllowed
from catalog.elements import Gaps, describe
from catalog.extensions import db
from catalog.importing import ImportConflict, Plan
from catalog.models import ApprovalItem, AuditAction, Role, User
from catalog.operations import items as operations
from catalog.operations.actor import Actor
from catalog.operations.mappings import save_mapping


def _reason(source: str, notes: list[str], gaps: Gaps | None = None) -> str:
    """The audit reason: the file, the elements the item lacks (catalog.elements), and what
    reading it assumed or derived for this item (a 天 read as a working day, a code made from
    the item code...), as the preview listed them; within the reason's limit."""
    reason = f"导入 {source}"
    if gaps is not None and not gaps.complete:
        reason += "；" + describe(gaps)
    reason += ("；已换算：" + "；".join(notes)) if notes else ""
    if len(reason) > operations.MAX_REASON_LENGTH:
        reason = reason[: operations.MAX_REASON_LENGTH - 1] + "…"
    return reason


def apply_import(
    plan: Plan,
    *,
    actor: User | Actor | str,
    source: str,
    publish: bool,
    preview_versions: Mapping[str, str | None] | None = None,
    mapping: tuple[str, Mapping[str, str]] | None = None,
) -> None:
    """Write the plan: new items (unpublished, with a draft) and changes into drafts, or, with
    `publish`, published at once. `preview_versions` are the versions the user's preview was
    built from (plan.versions of that preview); an item whose version differs now is a
    conflict and nothing is written (ImportConflict lists them all). Without them the plan is
    its own preview (a command plans and applies in one transaction). `mapping` (a source
    name, header -> field or "ignore") is the mapping the preview's file was read with, saved
    and audited with the import (catalog.operations.mappings): a preview abandoned or refused
    as stale saves nothing."""
    actor = Actor.of(actor)
    actor.require(Role.editor, "您的账号不能导入事项。")
    if publish:
        actor.require(Role.reviewer, "只有审核人员可以直接发布导入的事项。")
        if operations.four_eyes() and not actor.is_command:
            raise NotAllowed(
                "按四眼原则，导入的修改须由另一位审核人员发布：请不选“直接发布”，导入后提交审核。"
            )
    touched = [parsed.code for parsed, _data in plan.new]
    touched += [parsed.code for parsed, _data, _changes in plan.changed]
    expected = plan.versions if preview_versions is None else preview_versions
    stale = [code for code in touched if expected.get(code, "?") != plan.versions.get(code)]
    if stale:
        raise ImportConflict(stale)
    if mapping is not None:
        save_mapping(*mapping, actor=actor)
    reasons = {
        parsed.code: _reason(source, parsed.notes, plan.gaps.get(parsed.code))
        for parsed, *_rest in [*plan.new, *plan.changed]
    }
    written: list[ApprovalItem] = []
    for parsed, data in plan.new:
        written.append(
            operations.create_item(
                data, actor=actor, reason=reasons[parsed.code], action=AuditAction.import_
            )
        )
    changed = {parsed.code: data for parsed, data, _changes in plan.changed}
    for item in db.session.scalars(sa.select(ApprovalItem).where(ApprovalItem.code.in_(changed))):
        operations.save_draft(
            item, changed[item.code], actor=actor, reason=reasons[item.code],
            expected_version=plan.versions[item.code], acknowledged=True,
            action=AuditAction.import_,
        )  # fmt: skip
        written.append(item)
    if publish:
        for item in written:
            version = operations.editable_version(item)
            operations.submit(item, actor=actor, expected_version=version)
            operations.publish(
                item, actor=actor, expected_version=operations.editable_version(item)
            )
