"""What the report pages and their JSON twins both show: a report, the list behind a count,
a comparison. Bad input raises ReportInputError (400) or ReportNotFound (404) with a message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from catalog.enums import REPORTED_TYPES, ItemType
from catalog.extensions import db
from catalog.figures import ITEM_IN_SCOPE, MISSING_PREDICATES, handling_totals
from catalog.models import ApprovalItem, HandlingItem
from catalog.reports.document import NO_UNIT, QUALITY_NOT_AVAILABLE, unit_key
from catalog.reports.measures import ITEMS, MEASURES, Measure
from catalog.reports.rows import (
    HandlingRow,
    ItemRow,
    live_handling_rows,
    live_items,
    live_limit_points,
)
from catalog.reports.snapshots import CURRENT, MAX_LABEL, ReportSource, compare, source
from catalog.revision import Cache, revision_key

PAGE_SIZE = 500
_limit_points = Cache(8)  # the chart's aggregate, per catalog revision
MAX_PAGE = 1_000_000
MAX_UNIT = 100


class ReportInputError(ValueError):
    """A malformed request (400); the message names what is wrong."""


class ReportNotFound(LookupError):
    """No such snapshot (404)."""


def report_source(label: str | None) -> ReportSource:
    # A label longer than any snapshot may have names none (and is never cut down to one).
    found = None if label and len(label) > MAX_LABEL else source(label)
    if found is None:
        raise ReportNotFound(f"没有名为 {(label or '')[:50]} 的快照。")
    return found


@dataclass
class Provenance:
    """The rows behind one count, with the sums of their time limits."""

    measure_key: str
    label: str
    item_type: ItemType | None
    unit: str | None
    rows: list[HandlingRow] | list[ItemRow]  # this page
    total: int  # all matching rows
    page: int
    pages: int
    statutory_days: int  # sums over all matching handling items that have a statutory limit
    promised_days: int  # effective promised days (instant = 0) over the same items
    limited: int

    @property
    def lists_items(self) -> bool:
        return self.measure_key == ITEMS

    @property
    def reads_elements(self) -> bool:
        """A data-quality list: its rows show the elements they lack."""
        return not self.lists_items and MEASURES[self.measure_key].reads_elements


def _int_arg(value: str | None, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PAGE:
        raise ReportInputError(f"{name} 须为正整数。")
    return int(value)


def provenance(source: ReportSource, args: Any) -> Provenance:
    """The handling items (or items) behind a count: ?measure=&type=&unit=&page=."""
    key = args.get("measure") or "all"
    if key != ITEMS and key not in MEASURES:
        allowed = "、".join([ITEMS, *MEASURES])
        raise ReportInputError(f"measure 无效：{key[:40]}。可选：{allowed}。")
    item_type = None
    if args.get("type"):
        try:
            item_type = ItemType(args["type"])
        except ValueError:
            allowed = "、".join(t.value for t in REPORTED_TYPES)
            raise ReportInputError(f"type 无效：{args['type'][:40]}。可选：{allowed}。") from None
    unit = args.get("unit") or ""
    if len(unit) > MAX_UNIT:
        raise ReportInputError(f"unit 过长：承办机构名称最多{MAX_UNIT}个字符。")
    unit = unit.strip() or None
    page = _int_arg(args.get("page"), "page", 1)

    if source.snapshot is None:
        found = _live_rows(key, item_type, unit, page)
    else:
        found = _frozen_rows(source, key, item_type, unit, page)
    rows, total, limited, statutory_days, promised_days = found
    return Provenance(
        measure_key=key,
        label="审批事项" if key == ITEMS else MEASURES[key].label,
        item_type=item_type,
        unit=unit,
        rows=rows,
        total=total,
        page=page,
        pages=_pages(total, page),
        statutory_days=statutory_days,
        promised_days=promised_days,
        limited=limited,
    )


_Found = tuple[list, int, int, int, int]  # this page's rows, total, limited, the two day sums


def _pages(total: int, page: int) -> int:
    pages = max(1, -(-total // PAGE_SIZE))
    if page > pages:
        raise ReportInputError(f"page 超出范围：共 {pages} 页。")
    return pages


def _live_rows(key: str, item_type: ItemType | None, unit: str | None, page: int) -> _Found:
    """The live catalog, filtered, counted and summed in SQL: one page of rows is loaded."""
    offset = (page - 1) * PAGE_SIZE
    wanted = [ApprovalItem.item_type == item_type] if item_type else []
    if unit == NO_UNIT:
        wanted.append(MISSING_PREDICATES["handling_unit"])
    elif unit:
        wanted.append(ApprovalItem.handling_unit == unit)
    if key == ITEMS:
        total = db.session.scalar(
            sa.select(sa.func.count(ApprovalItem.id)).where(ITEM_IN_SCOPE, *wanted)
        )
        _pages(total, page)
        return live_items(*wanted, limit=PAGE_SIZE, offset=offset), total, 0, 0, 0
    conditions = [MEASURES[key].sql, *wanted]
    # the report's own sums: (total, instant, …, limited, statutory days, promised days)
    sums = db.session.execute(handling_totals().where(*conditions)).one()
    total, limited, statutory, promised = (int(sums[i]) for i in (0, 6, 7, 8))
    _pages(total, page)
    rows = live_handling_rows(*conditions, limit=PAGE_SIZE, offset=offset)
    return rows, total, limited, statutory, promised


def _frozen_rows(source: ReportSource, key: str, item_type: ItemType | None, unit: str | None,
                 page: int) -> _Found:  # fmt: skip
    """A snapshot: its frozen rows, filtered by the measure's test."""

    def wanted(row: ItemRow | HandlingRow) -> bool:
        return (item_type is None or row.item_type == item_type) and (
            unit is None or unit_key(row.handling_unit) == unit
        )

    items, handling = source.rows
    if key == ITEMS:
        matching: list = [row for row in items if wanted(row)]
        limited: list[HandlingRow] = []
    else:
        measure: Measure = MEASURES[key]
        if measure.reads_elements and any(row.missing is None for row in handling):
            raise ReportInputError(QUALITY_NOT_AVAILABLE)
        matching = [row for row in handling if wanted(row) and measure.matches(row)]
        limited = [row for row in matching if row.facts.statutory_days is not None]
    _pages(len(matching), page)
    return (
        matching[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        len(matching),
        len(limited),
        sum(row.facts.statutory_days or 0 for row in limited),
        sum(row.facts.effective_promised_days for row in limited),
    )


def comparison(args: Any) -> dict[str, Any]:
    """?from=<label>&to=<label or current> (to defaults to the live catalog)."""
    old_label, new_label = args.get("from"), args.get("to") or CURRENT
    if not old_label:
        raise ReportInputError("请用 from 指定要比较的快照（to 省略时与当前目录比较）。")
    if old_label == new_label:
        raise ReportInputError("from 和 to 不能是同一个快照。")
    return compare(report_source(old_label), report_source(new_label))


def limit_points(source: ReportSource) -> list[tuple[str, int | None, int, int]]:
    """(label, statutory, promised as compression counts it, how many) for the limits chart:
    one SQL aggregate for the live catalog, the frozen rows for a snapshot."""
    if source.snapshot is None:
        return _limit_points.get(revision_key(), live_limit_points)
    _items, handling = source.rows
    return [(row.code, row.facts.statutory_days, row.facts.effective_promised_days, 1)
            for row in handling]  # fmt: skip


def rows_by_code(source: ReportSource, codes: list[str]) -> dict[str, HandlingRow]:
    """The report rows of some handling items (those a page lists)."""
    if source.snapshot is None:
        return {row.code: row for row in live_handling_rows(HandlingItem.code.in_(codes))}
    wanted = set(codes)
    return {row.code: row for row in source.rows[1] if row.code in wanted}
