"""An item's pending revision (its draft), read: its data, its version, its diff, its effect.

A revision holds the whole item as data (the shape of services.item_data). Writing one (saving,
submitting, returning, publishing, discarding) is catalog.operations.items; this module is what
the editor's page, the reviewer's page, the importer and the operations all read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog import figures
from catalog.enums import REPORTED_TYPES, ItemType, Status
from catalog.models import ApprovalItem
from catalog.ratios import (
    CatalogFigures,
    PolicyRule,
    broken_rules,
    figures_from_facts,
    handling_facts,
)
from catalog.report import SHARES
from catalog.services import Changes, item_data


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


# The six ratios of the report, (key, Chinese name, attribute of CatalogFigures), in its order.
RATIOS = (*SHARES, ("compression", "时限压缩比", "compression"))


@dataclass(frozen=True)
class RatioPreview:
    """The bureau's figures and policy exception counts now, and with a revision published."""

    before: CatalogFigures
    after: CatalogFigures
    exceptions_before: dict[PolicyRule, int]
    exceptions_after: dict[PolicyRule, int]

    def rows(self) -> list[tuple[str, str, Any, Any]]:
        """(key, label, before, after) of each ratio (a percent, None for no data) and each
        policy exception count: what the editor's preview, the reviewer's page and the
        publish audit record all show."""
        rows = [
            (key, label, getattr(self.before, attribute).percent,
             getattr(self.after, attribute).percent)
            for key, label, attribute in RATIOS
        ]  # fmt: skip
        rows += [
            (f"exceptions.{rule.value}", rule.label, self.exceptions_before[rule],
             self.exceptions_after[rule])
            for rule in PolicyRule
        ]  # fmt: skip
        return rows

    def as_changes(self) -> dict[str, list[Any]]:
        """{key: [before, after]} of what the publishing changes, for the audit record."""
        return {
            key: [before, after] for key, _label, before, after in self.rows() if before != after
        }


def _contribution(item_type: ItemType, handling_items: list[Any]) -> CatalogFigures:
    if item_type not in REPORTED_TYPES:
        return figures_from_facts([], [])
    return figures_from_facts([item_type], [handling_facts(h) for h in handling_items])


def _broken(item_type: ItemType, handling_items: list[Any]) -> dict[PolicyRule, int]:
    counts = dict.fromkeys(PolicyRule, 0)
    if item_type in REPORTED_TYPES:
        for handling in handling_items:
            for rule in broken_rules(handling_facts(handling)):
                counts[rule] += 1
    return counts


def preview(item: ApprovalItem, data: dict[str, Any]) -> RatioPreview:
    """The bureau's figures now, and as they would be with `data` published for this item.

    The catalog's figures come from the SQL aggregates; the item's own contribution is taken
    out and the pending one put in, so the preview costs the same on a province catalog.
    """
    before = figures.catalog_figures()
    exceptions = figures.policy_exception_counts()
    published = (
        [h for h in item.handling_items if h.status == Status.published]
        if item.status == Status.published
        else []
    )
    # a new item (unpublished) and its handling items are published with it; a retired
    # item, or a retired handling item, stays out of the catalog in scope
    pending = [
        h for h in data["handling_items"]
        if item.status != Status.retired and _published_with(item, h["code"])
    ]  # fmt: skip
    new_type = ItemType(data["type"])
    old_broken, new_broken = _broken(item.item_type, published), _broken(new_type, pending)
    return RatioPreview(
        before=before,
        after=before - _contribution(item.item_type, published) + _contribution(new_type, pending),
        exceptions_before=exceptions,
        exceptions_after={
            rule: exceptions[rule] - old_broken[rule] + new_broken[rule] for rule in PolicyRule
        },
    )


def _published_with(item: ApprovalItem, code: str) -> bool:
    """Whether publishing the item's revision puts this handling item in the catalog: every
    one but a retired one (new codes are created and published with it)."""
    statuses = {h.code: h.status for h in item.handling_items}
    return statuses.get(code) != Status.retired
