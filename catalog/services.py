"""The item's rows: validation, the business rules, writing an item's data into its rows.

These are the primitives under catalog.operations, which every staff change goes through
(drafts, review, publishing, retiring, imports); the seed loader writes the bureau's baseline
with them directly. They flush and never commit: the edge (catalog.edge) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from marshmallow import ValidationError

from catalog.attachments import missing_file_errors
from catalog.audit import jsonable, record
from catalog.domain import Conflict, Invalid, flush_or
from catalog.enums import CaseType, Status
from catalog.extensions import db
from catalog.models import (
    ApprovalItem,
    AuditAction,
    FaqEntry,
    Fee,
    HandlingItem,
    LegalBasis,
    LicenceDecision,
    Material,
    ProcessStep,
    utcnow,
)
from catalog.schemas import ItemDumpSchema, ItemSchema
from catalog.search.index import index_item

Changes = dict[str, tuple[Any, Any]]
SYSTEM_ACTOR = "system"  # changes made by commands rather than a signed-in person

# Schemas hold no per-call state; building them once saves work on every write.
_ITEM_SCHEMA = ItemSchema()
_ITEM_DUMP_SCHEMA = ItemDumpSchema()

ITEM_FIELDS = (
    "code", "name", "item_type", "implementing_body", "handling_unit", "exercise_level",
    "power_source", "service_targets", "conditions", "result_name", "result_type",
    "consultation", "complaint", "location", "hours",
)  # fmt: skip
HANDLING_ITEM_FIELDS = (
    "situation", "case_type", "statutory_days", "promised_days", "visits", "visit_reason",
    "forms", "online_depth", "charges_fee", "online_url",
)  # fmt: skip
CHILD_LISTS = {
    "materials": (
        Material,
        ("name", "kind", "form", "copies", "necessity", "source", "notes", "attachment_data"),
    ),
    "fees": (Fee, ("name", "standard", "amount", "basis")),
    "steps": (ProcessStep, ("name", "days")),
}
LEGAL_BASIS_FIELDS = ("law", "article", "text")
FAQ_FIELDS = ("question", "answer")


# The name the rest of the code and the tests know the rule errors by.
CatalogValidationError = Invalid


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict as {"handling_items.0.visits": [message, ...]}."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": messages}
    if isinstance(messages, str):
        return {prefix or "_schema": [messages]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        flat.update(flatten_errors(value, path))
    return flat


def handling_item_rule_errors(data: Mapping[str, Any]) -> dict[str, str]:
    """The rules between the fields of one handling item, as {field: message}."""
    errors: dict[str, str] = {}
    statutory, promised = data["statutory_days"], data["promised_days"]
    if statutory is not None and promised > statutory:
        errors["promised_days"] = (
            f"承诺时限（{promised}个工作日）不能超过法定时限（{statutory}个工作日）。"
        )
    if data["case_type"] == CaseType.instant and promised != 0:
        errors["promised_days"] = "即办件的承诺时限须为0。"
    # A visit without its reason is a gap (catalog.elements) and a policy exception the report
    # counts (ratios.PolicyRule.visit_without_reason), not a refusal: bureaus' files lack it.
    return errors


def validate_item_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Load an item payload and check every rule; raise CatalogValidationError listing all."""
    try:
        loaded = _ITEM_SCHEMA.load(data)
    except ValidationError as exc:
        raise CatalogValidationError(flatten_errors(exc.messages)) from None
    errors: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for index, handling in enumerate(loaded["handling_items"]):
        for field, message in handling_item_rule_errors(handling).items():
            errors[f"handling_items.{index}.{field}"] = [message]
        if handling["code"] in seen:
            errors[f"handling_items.{index}.code"] = [
                f"编码 {handling['code']} 与第{seen[handling['code']] + 1}个业务办理项重复。"
            ]
        seen.setdefault(handling["code"], index)
        if handling["visits"] == 0:
            handling["visit_reason"] = None  # a reason only means something with a visit
    errors.update(missing_file_errors(loaded))
    if errors:
        raise CatalogValidationError(errors)
    return loaded


def _check_against_catalog(loaded: Mapping[str, Any], item: ApprovalItem | None) -> None:
    """The rules that read the rest of the catalog: codes used by no other item, and no
    handling item removed that published licence decisions name (withdrawing it keeps it)."""
    own_id = item.id if item is not None else None
    errors: dict[str, list[str]] = {}
    other = db.session.scalar(
        sa.select(ApprovalItem).where(
            ApprovalItem.code == loaded["code"], ApprovalItem.id != own_id
        )
    )
    if other is not None:
        errors["code"] = [f"事项编码 {loaded['code']} 已被“{other.name}”使用。"]
    codes = [handling["code"] for handling in loaded["handling_items"]]
    taken = dict(
        db.session.execute(
            sa.select(HandlingItem.code, ApprovalItem.name)
            .join(ApprovalItem)
            .where(HandlingItem.code.in_(codes), HandlingItem.item_id != own_id)
        ).all()
    )
    for index, code in enumerate(codes):
        if code in taken:
            errors[f"handling_items.{index}.code"] = [
                f"业务办理项编码 {code} 已被“{taken[code]}”使用。"
            ]
    if own_id is not None:
        decided = db.session.execute(
            sa.select(HandlingItem.code, sa.func.count(LicenceDecision.id))
            .join(LicenceDecision, LicenceDecision.handling_item_id == HandlingItem.id)
            .where(HandlingItem.item_id == own_id, HandlingItem.code.not_in(codes))
            .group_by(HandlingItem.code)
            .order_by(HandlingItem.code)
        ).all()
        for code, count in decided:
            errors[f"handling_items.{code}"] = [
                f"已有 {count} 条许可决定（双公示）依据此办理项，不能删除；"
                "不再办理的情形请由审核人员停用该办理项，记录会保留。"
            ]
    if errors:
        raise CatalogValidationError(errors)


def _set_fields(
    target: Any, values: Mapping[str, Any], names: Iterable[str], prefix: str, changes: Changes
) -> None:
    for name in names:
        old, new = getattr(target, name), values[name]
        if old != new:
            changes[f"{prefix}{name}"] = (old, new)
            setattr(target, name, new)


def _rows(objects: Iterable[Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{name: getattr(obj, name) for name in names} for obj in objects]


def _replace_list(
    target: Any,
    attribute: str,
    model: type,
    names: tuple[str, ...],
    rows: list[Mapping[str, Any]],
    prefix: str,
    changes: Changes,
) -> None:
    """Replace an ordered list of value rows (materials, fees, ...) when it differs."""
    old = _rows(getattr(target, attribute), names)
    new = [{name: row[name] for name in names} for row in rows]
    if old != new:
        changes[f"{prefix}{attribute}"] = (old, new)
        setattr(target, attribute, [model(position=i, **row) for i, row in enumerate(new)])


def _apply_handling_item(handling: HandlingItem, data: Mapping[str, Any], changes: Changes) -> None:
    prefix = f"handling_items.{data['code']}."
    before = len(changes)
    _set_fields(handling, data, HANDLING_ITEM_FIELDS, prefix, changes)
    for attribute, (model, names) in CHILD_LISTS.items():
        rows = data[attribute] or []  # fees may be None: not provided
        _replace_list(handling, attribute, model, names, rows, prefix, changes)
    if len(changes) > before and handling.id is not None:
        handling.updated_at = utcnow()  # bumps the version even when only child rows changed


def _apply_item(item: ApprovalItem, data: Mapping[str, Any], status: Status) -> Changes:
    changes: Changes = {}
    _set_fields(item, data, ITEM_FIELDS, "", changes)
    _replace_list(
        item, "legal_bases", LegalBasis, LEGAL_BASIS_FIELDS, data["legal_bases"], "", changes
    )
    _replace_list(item, "faq", FaqEntry, FAQ_FIELDS, data["faq"], "", changes)
    existing = {handling.code: handling for handling in item.handling_items}
    ordered = []
    for handling_data in data["handling_items"]:
        handling = existing.pop(handling_data["code"], None)
        if handling is None:
            handling = HandlingItem(code=handling_data["code"], status=status)
            changes[f"handling_items.{handling_data['code']}"] = (None, "created")
        _apply_handling_item(handling, handling_data, changes)
        ordered.append(handling)
    for code in existing:
        changes[f"handling_items.{code}"] = ("existed", None)
    if [h.code for h in item.handling_items] != [h.code for h in ordered]:
        item.handling_items = ordered
        for position, handling in enumerate(ordered):
            handling.position = position
    if changes and item.id is not None:
        item.updated_at = utcnow()
    return changes


def _flush() -> None:
    """Flush inside a savepoint, so that a race lost on a unique code (another request took
    it after the check above) is a conflict (409) that leaves the transaction usable."""
    flush_or(lambda: Conflict("编码已被同时提交的其他事项使用，本次未保存，请刷新后重试。"))


def check_item_data(data: Mapping[str, Any], item: ApprovalItem | None) -> dict[str, Any]:
    """Every rule, without writing: the canonical data of a valid item, as item_data() shapes it."""
    loaded = validate_item_data(data)
    _check_against_catalog(loaded, item)
    canonical = {**loaded, "result": {"name": loaded["result_name"], "type": loaded["result_type"]}}
    return jsonable(_ITEM_DUMP_SCHEMA.dump(canonical))


def new_item_rows(data: Mapping[str, Any], status: Status) -> tuple[ApprovalItem, Changes]:
    """Create an approval item with its handling items, all in `status`, from `data` (every
    rule checked); the item and {field: (None, value)}. Writes no audit record: the caller's
    operation does, with what else it changed."""
    loaded = validate_item_data(data)
    _check_against_catalog(loaded, None)
    item = ApprovalItem(status=status)
    with db.session.no_autoflush:
        changes = _apply_item(item, loaded, status)
        index_item(item)
    db.session.add(item)
    _flush()
    return item, {"status": (None, status), **changes}


def write_item(item: ApprovalItem, data: Mapping[str, Any]) -> Changes:
    """Bring an item's rows to `data` (every rule checked); {field: (old, new)}.

    Handling items are matched by code: new codes are created in the item's status, codes no
    longer listed are removed. Status changes set on the item before the call are written in
    the same UPDATE, so one change is one version step. Writes no audit record."""
    loaded = validate_item_data(data)
    _check_against_catalog(loaded, item)
    with db.session.no_autoflush:  # one UPDATE per row, so one version step per change
        changes = _apply_item(item, loaded, item.status)
        index_item(item)
    _flush()
    return changes


def create_item(
    data: Mapping[str, Any],
    *,
    status: Status = Status.unpublished,
    actor: str = SYSTEM_ACTOR,
    reason: str | None = None,
    action: AuditAction = AuditAction.create,
) -> ApprovalItem:
    """Create an item's rows and audit it: the seed's load of the bureau's baseline (staff
    create items through catalog.operations.items.create_item, which also opens its draft)."""
    item, changes = new_item_rows(data, status)
    record(actor=actor, action=action, object_type="item", object_code=item.code,
           changes=changes, reason=reason)  # fmt: skip
    return item


def update_item(
    item: ApprovalItem,
    data: Mapping[str, Any],
    *,
    actor: str = SYSTEM_ACTOR,
    reason: str | None = None,
    action: AuditAction = AuditAction.change,
) -> Changes:
    """Write `data` into an item's rows and audit it (the seed's reload); a change that changes
    nothing writes no audit event. Staff changes go through catalog.operations.items."""
    changes = write_item(item, data)
    if changes:
        record(actor=actor, action=action, object_type="item", object_code=item.code,
               changes=changes, reason=reason)  # fmt: skip
    return changes


def set_status(item: ApprovalItem, status: Status, *, from_statuses: tuple[Status, ...]) -> Changes:
    """Move the item, and its handling items that are in `from_statuses`, to `status`;
    {path: (old, new)} of what moved. Not flushed: write_item or the caller's flush writes it
    with the rest of the change."""
    changes: Changes = {}
    if item.status in from_statuses and item.status != status:  # a retired item stays retired
        changes["status"] = (item.status, status)
        item.status = status
    for handling in item.handling_items:
        if handling.status in from_statuses and handling.status != status:
            changes[f"handling_items.{handling.code}.status"] = (handling.status, status)
            handling.status = status
    return changes


def item_data(item: ApprovalItem) -> dict[str, Any]:
    """The canonical data of an item, as the API shows it and the seed compares it."""
    return _ITEM_DUMP_SCHEMA.dump(item)
