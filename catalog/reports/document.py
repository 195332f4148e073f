"""The complete audit report as one document, built once from the rows it reads and rendered
as HTML, JSON, CSV and XLSX; the live catalog and a snapshot go through the same code."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from catalog import figures as sql
from catalog.elements import ELEMENTS, ITEM_ELEMENTS
from catalog.enums import REPORTED_TYPES, ItemType
from catalog.extensions import db
from catalog.measures import MISSING_PREFIX
from catalog.models import ApprovalItem
from catalog.ratios import CatalogFigures, PolicyRule, Ratio, figures_from_facts, policy_exceptions
from catalog.report import report_document
from catalog.reports import aggregates
from catalog.reports.aggregates import NO_UNIT as NO_UNIT  # (re-exported)
from catalog.reports.aggregates import unit_key
from catalog.reports.rows import (
    FINGERPRINT_VERSION,
    HandlingRow,
    ItemRow,
    fingerprint_of,
    live_fingerprint_v2,
)
from catalog.revision import current_stamp

TITLE = "许昌市交通运输局 审批事项改革指标报告"
BUREAU = "许昌市交通运输局"


def figures_of(items: Iterable[ItemRow], handling: Iterable[HandlingRow]) -> CatalogFigures:
    """The ratio engine over report rows."""
    return figures_from_facts((row.item_type for row in items), (row.facts for row in handling))


QUALITY_NOT_AVAILABLE = "该快照冻结的数据不含全部国家规定要素，无法给出数据质量（要素完整率）。"
QUALITY_DEFINITION = (
    "要素齐全的业务办理项 / 全部业务办理项；业务办理项及其所属事项均不缺少任何国家规定要素"
    "（为空即缺少）时为要素齐全"
)


def quality_document(handling_items: int, complete: int, missing: dict[str, int]) -> dict:
    """The data-quality section: 要素完整率 and, per element, the handling items whose row
    (the item's elements or its own) lacks it."""
    percent = Ratio(complete, handling_items).percent
    item_keys = {element.key for element in ITEM_ELEMENTS}
    return {
        "handling_items": handling_items,
        "complete": complete,
        "incomplete": handling_items - complete,
        "percent": None if percent is None else float(percent),
        "elements": [
            {"key": element.key, "label": element.label,
             "level": "item" if element.key in item_keys else "handling_item",
             "count": missing.get(element.key, 0), "measure": MISSING_PREFIX + element.key}
            for element in ELEMENTS
        ],
    }  # fmt: skip


def quality_of_rows(handling: Iterable[HandlingRow]) -> dict[str, Any] | None:
    """The data-quality section of report rows; None when they do not carry the elements."""
    handling = list(handling)
    if any(row.missing is None for row in handling):
        return None
    missing = Counter(key for row in handling for key in row.missing)  # type: ignore[union-attr]
    complete = sum(1 for row in handling if not row.missing)
    return quality_document(len(handling), complete, dict(missing))


def _section(items: list[ItemRow], handling: list[HandlingRow]) -> dict[str, Any]:
    exceptions = policy_exceptions(row.facts for row in handling)
    return report_document(figures_of(items, handling), exceptions)


def _breakdown(
    items: list[ItemRow],
    handling: list[HandlingRow],
    key: Callable[[Any], str],
    order: list[tuple[str, str]],
) -> list[dict[str, Any]]:
    """One section per group, in `order` (key, label), then any other group by key."""
    grouped_items: dict[str, list[ItemRow]] = defaultdict(list)
    grouped_handling: dict[str, list[HandlingRow]] = defaultdict(list)
    for row in items:
        grouped_items[key(row)].append(row)
    for row in handling:
        grouped_handling[key(row)].append(row)
    known = {group for group, _label in order}
    others = sorted((set(grouped_items) | set(grouped_handling)) - known)
    return [
        {"key": group, "label": label,
         **_section(grouped_items[group], grouped_handling[group])}
        for group, label in [*order, *((group, group) for group in others)]
        if group in grouped_items or group in grouped_handling or group in known
    ]  # fmt: skip


def build_report(
    items: list[ItemRow],
    handling: list[HandlingRow],
    *,
    generated_at: datetime | None = None,
    snapshot: dict[str, Any] | None = None,
    fingerprint_version: int = FINGERPRINT_VERSION,
) -> dict[str, Any]:
    """The report document: headline figures, breakdowns by type and by handling unit, the
    policy exceptions, the fingerprint of the rows (its version says itself in its prefix:
    catalog.reports.rows) and when it was computed."""
    generated_at = generated_at or datetime.now(UTC)
    document: dict[str, Any] = {
        "title": TITLE,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "fingerprint": fingerprint_of(fingerprint_version, items, handling),
        "snapshot": snapshot,
        **_section(items, handling),
        "data_quality": quality_of_rows(handling),
    }
    document["breakdowns"] = {
        "by_type": _breakdown(
            items,
            handling,
            lambda row: row.item_type.value,
            [(item_type.value, item_type.label) for item_type in REPORTED_TYPES],
        ),
        "by_unit": _breakdown(items, handling, lambda row: unit_key(row.handling_unit), []),
    }
    return document


def live_report(*, generated_at: datetime | None = None) -> dict[str, Any]:
    """The report of the published catalog: the same document build_report() makes from the
    rows, which the tests hold it to. From the sums kept current by every change
    (catalog.reports.aggregates: two small reads, whatever the size of the catalog) when they
    are right at the catalog's revision, else from the rows (four scans and the fingerprint's,
    4-5 s at 300,000 handling items): a transaction that has changed the catalog and not yet
    committed, or sums left behind by a write that bypassed them."""
    stamp = current_stamp()  # first: its query flushes a pending change, which marks the session
    connection = db.session.connection()
    if not db.session.info.get("catalog_changed") and aggregates.state(connection) == stamp:
        kept = aggregates.read(connection)
        return _document(kept.aggregates, kept.quality, kept.fingerprint, generated_at)
    return scanned_report(generated_at=generated_at)


def scanned_report(*, generated_at: datetime | None = None) -> dict[str, Any]:
    """live_report() computed from the rows: the aggregates' scans and the fingerprint's."""
    quality = sql.quality_counts()
    return _document(sql.report_aggregates(), quality, live_fingerprint_v2(), generated_at)


def _document(
    aggregates: sql.ReportAggregates,
    quality: sql.QualityCounts,
    fingerprint: str,
    generated_at: datetime | None,
) -> dict[str, Any]:
    nothing = figures_from_facts([], [])
    no_exceptions: dict[PolicyRule, list[str]] = {rule: [] for rule in PolicyRule}
    document: dict[str, Any] = {
        "title": TITLE,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "fingerprint": fingerprint,
        "snapshot": None,
        **report_document(
            aggregates.figures(None)[None], aggregates.exceptions(None).get(None, no_exceptions)
        ),
    }
    document["data_quality"] = quality_document(
        quality.handling_items, quality.complete, quality.missing
    )

    def groups(column, order: list[tuple[str, str]]) -> list[dict[str, Any]]:
        figures: dict[Any, CatalogFigures] = {}
        for key, value in aggregates.figures(column).items():  # a unit None and "" are one
            figures[unit_key(key)] = figures.get(unit_key(key), nothing) + value
        exceptions: dict[Any, dict[PolicyRule, list[str]]] = {}
        for key, value in aggregates.exceptions(column).items():
            into = exceptions.setdefault(unit_key(key), {rule: [] for rule in PolicyRule})
            for rule, codes in value.items():
                into[rule] = sorted([*into[rule], *codes])
        known = {key for key, _label in order}
        others = sorted(set(figures) - known)
        return [
            {"key": key, "label": label,
             **report_document(figures.get(key, nothing), exceptions.get(key, no_exceptions))}
            for key, label in [*order, *((key, key) for key in others)]
        ]  # fmt: skip

    document["breakdowns"] = {
        "by_type": groups(
            ApprovalItem.item_type, [(t.value, ItemType(t).label) for t in REPORTED_TYPES]
        ),
        "by_unit": groups(ApprovalItem.handling_unit, []),
    }
    return document
