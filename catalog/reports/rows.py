"""The rows a report is computed from: the published catalog in scope, read live from the
database or from a snapshot's frozen item data, and the fingerprint of exactly those rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from catalog.enums import REPORTED_TYPES, ItemType, Status
from catalog.extensions import db
from catalog.figures import HANDLING_ITEM_IN_SCOPE, ITEM_IN_SCOPE
from catalog.models import ApprovalItem, HandlingItem
from catalog.ratios import HandlingFacts, handling_facts
from catalog.services import item_data


@dataclass(frozen=True)
class ItemRow:
    """An approval item in scope: what the counts by type and the breakdowns read."""

    code: str
    name: str
    item_type: ItemType
    handling_unit: str


@dataclass(frozen=True)
class HandlingRow:
    """A handling item in scope, with its item's fields that the report groups by."""

    item_code: str
    item_name: str
    item_type: ItemType
    handling_unit: str
    code: str
    situation: str
    facts: HandlingFacts


ITEM_COLUMNS = (
    ApprovalItem.code,
    ApprovalItem.name,
    ApprovalItem.item_type,
    ApprovalItem.handling_unit,
)
HANDLING_COLUMNS = (
    *ITEM_COLUMNS,
    HandlingItem.code,
    HandlingItem.situation,
    HandlingItem.case_type,
    HandlingItem.statutory_days,
    HandlingItem.promised_days,
    HandlingItem.visits,
    HandlingItem.visit_reason,
    HandlingItem.online_depth,
)


def _handling_row(row: Any) -> HandlingRow:
    (item_code, item_name, item_type, unit, code, situation, case_type, statutory, promised,
     visits, reason, depth) = row  # fmt: skip
    facts = handling_facts(
        {"code": code, "case_type": case_type, "statutory_days": statutory,
         "promised_days": promised, "visits": visits, "visit_reason": reason,
         "online_depth": depth}
    )  # fmt: skip
    return HandlingRow(item_code, item_name, ItemType(item_type), unit, code, situation, facts)


def live_items() -> list[ItemRow]:
    rows = db.session.execute(
        sa.select(*ITEM_COLUMNS).where(ITEM_IN_SCOPE).order_by(ApprovalItem.code)
    )
    return [ItemRow(code, name, ItemType(kind), unit) for code, name, kind, unit in rows]


def live_handling_query(*conditions: sa.ColumnElement[bool]) -> sa.Select:
    return (
        sa.select(*HANDLING_COLUMNS)
        .select_from(HandlingItem)
        .join(ApprovalItem)
        .where(HANDLING_ITEM_IN_SCOPE, *conditions)
        .order_by(HandlingItem.code)
    )


def live_handling_rows(*conditions: sa.ColumnElement[bool], limit: int | None = None,
                       offset: int = 0) -> list[HandlingRow]:  # fmt: skip
    query = live_handling_query(*conditions).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_handling_row(row) for row in db.session.execute(query)]


def live_handling_count(*conditions: sa.ColumnElement[bool]) -> int:
    query = live_handling_query(*conditions).order_by(None).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(query))


def published_catalog() -> list[dict[str, Any]]:
    """Every published item as data with its published handling items: what a snapshot
    freezes (all types, so that a comparison sees every item)."""
    items = db.session.scalars(
        sa.select(ApprovalItem)
        .where(ApprovalItem.status == Status.published)
        .options(selectinload(ApprovalItem.handling_items))
        .order_by(ApprovalItem.code)
    )
    catalog = []
    for item in items:
        published = {h.code for h in item.handling_items if h.status == Status.published}
        data = item_data(item)
        data["handling_items"] = [h for h in data["handling_items"] if h["code"] in published]
        catalog.append(data)
    return catalog


def rows_from_catalog(
    catalog: Iterable[Mapping[str, Any]],
) -> tuple[list[ItemRow], list[HandlingRow]]:
    """The rows in scope of frozen item data (as published_catalog() returns it)."""
    items, handling = [], []
    for item in catalog:
        item_type = ItemType(item["type"])
        if item.get("status", Status.published.value) != Status.published.value:
            continue
        if item_type not in REPORTED_TYPES:
            continue
        items.append(ItemRow(item["code"], item["name"], item_type, item["handling_unit"]))
        for entry in item["handling_items"]:
            handling.append(
                HandlingRow(item["code"], item["name"], item_type, item["handling_unit"],
                            entry["code"], entry["situation"], handling_facts(entry))
            )  # fmt: skip
    items.sort(key=lambda row: row.code)
    handling.sort(key=lambda row: row.code)
    return items, handling


def fingerprint(items: Iterable[ItemRow], handling: Iterable[HandlingRow]) -> str:
    """sha256 over exactly the values the report reads, in code order: equal data gives an
    equal fingerprint, on SQLite and PostgreSQL, live or from a snapshot."""
    lines: list[list[Any]] = [
        ["item", row.code, row.name, row.item_type.value, row.handling_unit]
        for row in sorted(items, key=lambda row: row.code)
    ]
    for row in sorted(handling, key=lambda row: row.code):
        fact = row.facts
        lines.append(
            ["handling", row.item_code, row.code, row.situation, fact.case_type.value,
             fact.statutory_days, fact.promised_days, fact.visits, fact.has_visit_reason,
             fact.online_depth]
        )  # fmt: skip
    canonical = json.dumps(lines, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
