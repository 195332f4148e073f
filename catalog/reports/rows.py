"""The rows a report is computed from: the published catalog in scope, read live from the
database or from a snapshot's frozen item data, and the fingerprint of exactly those rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from catalog.elements import ITEM_ELEMENTS, gaps
from catalog.enums import REPORTED_TYPES, ItemType, Status
from catalog.extensions import db
from catalog.figures import (
    EFFECTIVE_PROMISED_DAYS,
    HANDLING_ITEM_IN_SCOPE,
    ITEM_IN_SCOPE,
    MISSING_PREDICATES,
    handling_items_in_scope,
)
from catalog.models import ApprovalItem, HandlingItem, Material
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
    situation: str | None
    facts: HandlingFacts
    # the keys of the elements (catalog.elements) its row lacks, the item's and its own; None
    # when the rows do not carry the elements (a snapshot's data from before they were frozen)
    missing: tuple[str, ...] | None = None


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
# one flag per element, in catalog.elements order: whether the row lacks it
MISSING_COLUMNS = tuple(
    sa.case((predicate, 1), else_=0).label(f"missing_{index}")
    for index, predicate in enumerate(MISSING_PREDICATES.values())
)


def _handling_row(row: Any) -> HandlingRow:
    (item_code, item_name, item_type, unit, code, situation, case_type, statutory, promised,
     visits, reason, depth, *flags) = row  # fmt: skip
    facts = handling_facts(
        {"code": code, "case_type": case_type, "statutory_days": statutory,
         "promised_days": promised, "visits": visits, "visit_reason": reason,
         "online_depth": depth}
    )  # fmt: skip
    missing = tuple(key for key, flag in zip(MISSING_PREDICATES, flags, strict=True) if flag)
    return HandlingRow(item_code, item_name, ItemType(item_type), unit, code, situation, facts,
                       missing)  # fmt: skip


def live_items(*conditions: sa.ColumnElement[bool], limit: int | None = None,
               offset: int = 0) -> list[ItemRow]:  # fmt: skip
    query = (
        sa.select(*ITEM_COLUMNS)
        .where(ITEM_IN_SCOPE, *conditions)
        .order_by(ApprovalItem.code)
        .offset(offset)
        .limit(limit)
    )
    return [ItemRow(code, name, ItemType(kind), unit) for code, name, kind, unit in
            db.session.execute(query)]  # fmt: skip


def live_handling_query(*conditions: sa.ColumnElement[bool]) -> sa.Select:
    return (
        sa.select(*HANDLING_COLUMNS, *MISSING_COLUMNS)
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
    query = live_handling_query(*conditions).with_only_columns(HandlingItem.id).order_by(None)
    query = query.subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(query))


# What item_data() reads, loaded with the items: six queries for the whole catalog instead of
# four per item (a snapshot of 300,000 handling items made over a million queries).
ITEM_DATA_LOADED = (
    selectinload(ApprovalItem.legal_bases),
    selectinload(ApprovalItem.faq),
    selectinload(ApprovalItem.handling_items)
    .selectinload(HandlingItem.materials)
    .selectinload(Material.attachments),  # the files offered beside them (one query more)
    selectinload(ApprovalItem.handling_items).selectinload(HandlingItem.fees),
    selectinload(ApprovalItem.handling_items).selectinload(HandlingItem.steps),
)


def published_catalog() -> list[dict[str, Any]]:
    """Every published item as data with its published handling items: what a snapshot
    freezes (all types, so that a comparison sees every item)."""
    items = db.session.scalars(
        sa.select(ApprovalItem)
        .where(ApprovalItem.status == Status.published)
        .options(*ITEM_DATA_LOADED)
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
        lacking = gaps(item) if carries_elements(item) else None
        for entry in item["handling_items"]:
            handling.append(
                HandlingRow(item["code"], item["name"], item_type, item["handling_unit"],
                            entry["code"], entry.get("situation"), handling_facts(entry),
                            None if lacking is None else tuple(lacking.of(entry["code"])))
            )  # fmt: skip
    items.sort(key=lambda row: row.code)
    handling.sort(key=lambda row: row.code)
    return items, handling


_HANDLING_KEYS = ("situation", "forms", "online_depth", "fees", "materials", "steps")


def carries_elements(item: Mapping[str, Any]) -> bool:
    """Whether frozen item data has every element catalog.elements reads (item_data() has had
    them all since they were elements; data frozen without one of them cannot say what the
    item lacks)."""
    item_keys = {element.key.partition(".")[0] for element in ITEM_ELEMENTS}
    return all(key in item for key in item_keys) and all(
        key in entry for entry in item["handling_items"] for key in _HANDLING_KEYS
    )


def _item_line(code, name, item_type, unit) -> list[Any]:
    return ["item", code, name, ItemType(item_type).value, unit]


def _handling_line(item_code, code, situation, facts: HandlingFacts) -> list[Any]:
    return [
        "handling", item_code, code, situation, facts.case_type.value, facts.statutory_days,
        facts.promised_days, facts.visits, facts.has_visit_reason, facts.online_depth,
    ]  # fmt: skip


def _digest(lines: Iterable[list[Any]], chunk: int = 5_000) -> str:
    """sha256 of json.dumps(list(lines)) in its compact form, without building the list: a
    chunk's dumps without its brackets is exactly that stretch of the whole list's."""
    digest = hashlib.sha256(b"[")
    lines = iter(lines)
    first = True
    while batch := list(islice(lines, chunk)):
        text = json.dumps(batch, ensure_ascii=False, separators=(",", ":"))[1:-1]
        digest.update((text if first else "," + text).encode())
        first = False
    digest.update(b"]")
    return "sha256:" + digest.hexdigest()


def fingerprint(items: Iterable[ItemRow], handling: Iterable[HandlingRow]) -> str:
    """sha256 over exactly the values the report reads, in code order: equal data gives an
    equal fingerprint, on SQLite and PostgreSQL, live or from a snapshot."""
    item_lines = (_item_line(row.code, row.name, row.item_type, row.handling_unit)
                  for row in sorted(items, key=lambda row: row.code))  # fmt: skip
    handling_lines = (_handling_line(row.item_code, row.code, row.situation, row.facts)
                      for row in sorted(handling, key=lambda row: row.code))  # fmt: skip
    return _digest(chain(item_lines, handling_lines))


def _live_lines() -> Iterator[list[Any]]:
    """The fingerprint's lines of the published catalog, streamed from the database (no row
    objects), in code order: the lines fingerprint() makes of live_items() and
    live_handling_rows()."""
    connection = db.session.connection()

    def raw(statement: sa.Select):
        """The driver's own values (the enums as their stored strings), streamed."""
        sql = statement.compile(connection, compile_kwargs={"literal_binds": True})
        streamed = {"stream_results": True, "yield_per": 5_000}  # for this statement only
        return connection.exec_driver_sql(str(sql), execution_options=streamed)

    items = raw(sa.select(*ITEM_COLUMNS).where(ITEM_IN_SCOPE).order_by(ApprovalItem.code))
    item_lines = (["item", code, name, item_type, unit] for code, name, item_type, unit in items)
    # of its item, a handling line has the code only (reading the others too cost 5-8 % more)
    handling = live_handling_query().with_only_columns(
        ApprovalItem.code, *HANDLING_COLUMNS[len(ITEM_COLUMNS) :]
    )
    handling_lines = (
        ["handling", item_code, code, situation, case_type, statutory, promised, visits,
         bool(reason and reason.strip()), depth]
        for (item_code, code, situation, case_type, statutory, promised, visits, reason, depth)
        in raw(handling)
    )  # fmt: skip
    return chain(item_lines, handling_lines)


def live_fingerprint() -> str:
    """The version 1 fingerprint of the published catalog, streamed from the database: the
    same value fingerprint() gives for live_items() and live_handling_rows()."""
    return _digest(_live_lines())


# -- version 2: the sum of the lines' digests -----------------------------------------------------
#
# Version 1 is one sha256 over every line in code order: a change of one handling item means
# hashing the whole catalog again (2.3-3.5 s of the first report after a change at 300,000
# handling items). Version 2 hashes each line alone and adds the digests up modulo 2**256: the
# same set of lines gives the same sum whatever the order (codes are unique, so the set says
# the order), and a change replaces one item's part of the sum (catalog.reports.aggregates).
# A snapshot keeps the fingerprint it was made with; fingerprint_of() recomputes either.

FINGERPRINT_VERSION = 2
V1_PREFIX = "sha256:"
V2_PREFIX = "sha256-sum:"
DIGEST_MODULUS = 2**256


def line_digest(line: list[Any]) -> int:
    """sha256 of one line, in the compact JSON version 1 hashes it in, as a number. orjson
    writes these lines byte for byte as json.dumps(ensure_ascii=False, separators=(",", ":"))
    does, at a tenth of the cost (a rebuild hashes every line of the catalog); json.dumps
    takes what orjson refuses (a lone surrogate)."""
    try:
        text = orjson.dumps(line)
    except orjson.JSONEncodeError:
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode()
    return int.from_bytes(hashlib.sha256(text).digest(), "big")


def item_digest(row: ItemRow) -> int:
    return line_digest(_item_line(row.code, row.name, row.item_type, row.handling_unit))


def handling_digest(row: HandlingRow) -> int:
    return line_digest(_handling_line(row.item_code, row.code, row.situation, row.facts))


def sum_fingerprint(total: int) -> str:
    """A version 2 fingerprint of the sum of the lines' digests."""
    return f"{V2_PREFIX}{total % DIGEST_MODULUS:064x}"


def fingerprint_v2(items: Iterable[ItemRow], handling: Iterable[HandlingRow]) -> str:
    """The version 2 fingerprint of report rows (in any order)."""
    total = sum(map(item_digest, items)) + sum(map(handling_digest, handling))
    return sum_fingerprint(total)


def live_fingerprint_v2() -> str:
    """The version 2 fingerprint of the published catalog, read from every row (the report
    keeps it current instead: catalog.reports.aggregates)."""
    return sum_fingerprint(sum(map(line_digest, _live_lines())))


def fingerprint_version(value: str) -> int:
    """The version of a fingerprint, from its prefix."""
    return 2 if value.startswith(V2_PREFIX) else 1


def fingerprint_of(version: int, items: Iterable[ItemRow], handling: Iterable[HandlingRow]) -> str:
    """The fingerprint of report rows in the given version (a snapshot's, recomputed)."""
    return fingerprint_v2(items, handling) if version == 2 else fingerprint(items, handling)


def live_limit_points() -> list[tuple[str, int | None, int, int]]:
    """Handling items in scope counted by (statutory days, effective promised days)."""
    count = sa.func.count(HandlingItem.id)
    rows = db.session.execute(
        handling_items_in_scope(
            HandlingItem.statutory_days,
            EFFECTIVE_PROMISED_DAYS,
            count,
            sa.func.min(HandlingItem.code),
        ).group_by(HandlingItem.statutory_days, EFFECTIVE_PROMISED_DAYS)
    )
    return [(code, statutory, promised, n) for statutory, promised, n, code in rows]
