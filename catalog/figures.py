"""The ratio engine's counts computed by SQL aggregates over the published catalog."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.enums import REPORTED_TYPES, CaseType, ItemType, Status
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem
from catalog.ratios import (
    FULLY_ONLINE_DEPTH,
    MAX_PROMISED_DAYS,
    MIN_ITEM_COMPRESSION,
    ONLINE_CAPABLE_DEPTH,
    CatalogFigures,
    HandlingFacts,
    PolicyRule,
)

ITEM_IN_SCOPE = sa.and_(
    ApprovalItem.status == Status.published, ApprovalItem.item_type.in_(REPORTED_TYPES)
)
HANDLING_ITEM_IN_SCOPE = sa.and_(ITEM_IN_SCOPE, HandlingItem.status == Status.published)

# Promised days as the compression counts them: instant items count 0.
EFFECTIVE_PROMISED_DAYS = sa.case(
    (HandlingItem.case_type == CaseType.instant, 0), else_=HandlingItem.promised_days
)
HAS_VISIT_REASON = sa.func.coalesce(sa.func.trim(HandlingItem.visit_reason), "") != ""

# The SQL twin of ratios.broken_rules(); tests hold the two to each other.
POLICY_PREDICATES: dict[PolicyRule, sa.ColumnElement[bool]] = {
    PolicyRule.promised_over_limit: HandlingItem.promised_days > MAX_PROMISED_DAYS,
    # (s - p) / s < a / b  <=>  b * (s - p) < a * s, exact in integers, for s > 0.
    PolicyRule.compression_below_minimum: sa.and_(
        HandlingItem.statutory_days > 0,
        MIN_ITEM_COMPRESSION.denominator * (HandlingItem.statutory_days - EFFECTIVE_PROMISED_DAYS)
        < MIN_ITEM_COMPRESSION.numerator * HandlingItem.statutory_days,
    ),
    PolicyRule.visit_without_reason: sa.and_(HandlingItem.visits > 0, sa.not_(HAS_VISIT_REASON)),
    PolicyRule.instant_with_promised_days: sa.and_(
        HandlingItem.case_type == CaseType.instant, HandlingItem.promised_days > 0
    ),
}


def _count_where(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def handling_items_in_scope(*columns: sa.ColumnElement) -> sa.Select:
    return (
        sa.select(*columns)
        .select_from(HandlingItem)
        .join(ApprovalItem)
        .where(HANDLING_ITEM_IN_SCOPE)
    )


def _handling_totals(*group: sa.ColumnElement) -> sa.Select:
    has_limit = HandlingItem.statutory_days.is_not(None)
    return handling_items_in_scope(
        *group,
        sa.func.count(HandlingItem.id),
        _count_where(HandlingItem.case_type == CaseType.instant),
        _count_where(HandlingItem.visits == 0),
        _count_where(HandlingItem.visits <= 1),
        _count_where(HandlingItem.online_depth >= ONLINE_CAPABLE_DEPTH),
        _count_where(HandlingItem.online_depth >= FULLY_ONLINE_DEPTH),
        _count_where(has_limit),
        sa.func.coalesce(sa.func.sum(HandlingItem.statutory_days), 0),
        sa.func.coalesce(sa.func.sum(sa.case((has_limit, EFFECTIVE_PROMISED_DAYS), else_=0)), 0),
    ).group_by(*group)


def _figures(by_type: dict[ItemType, int], totals) -> CatalogFigures:
    (total, instant, no_visit, one_visit, capable, fully, limited, statutory, promised) = (
        int(value) for value in totals
    )
    return CatalogFigures(
        items_by_type=by_type,
        handling_items=total,
        instant=instant,
        no_visit=no_visit,
        at_most_one_visit=one_visit,
        online_capable=capable,
        fully_online=fully,
        limited_handling_items=limited,
        statutory_days=statutory,
        promised_days=promised,
    )


def catalog_figures() -> CatalogFigures:
    """All the counts behind the reform ratios, in two aggregate queries."""
    return grouped_figures(None)[None]


def grouped_figures(column: sa.ColumnElement | None) -> dict[object, CatalogFigures]:
    """The figures of each group of items in scope (by an ApprovalItem column, e.g. the type or
    the handling unit), in two aggregate queries; `None` gives the whole catalog as {None: …}."""
    group = () if column is None else (column,)
    by_group: dict[object, dict[ItemType, int]] = {}
    item_rows = db.session.execute(
        sa.select(*group, ApprovalItem.item_type, sa.func.count(ApprovalItem.id))
        .where(ITEM_IN_SCOPE)
        .group_by(*group, ApprovalItem.item_type)
    )
    for *key, item_type, count in item_rows:
        counts = by_group.setdefault(key[0] if key else None, dict.fromkeys(REPORTED_TYPES, 0))
        counts[ItemType(item_type)] = int(count)
    figures: dict[object, CatalogFigures] = {}
    for row in db.session.execute(_handling_totals(*group)):
        name = row[0] if group else None
        counts = by_group.pop(name, dict.fromkeys(REPORTED_TYPES, 0))
        figures[name] = _figures(counts, row[len(group) :])
    for name, counts in by_group.items():  # items whose handling items are all out of scope
        figures[name] = _figures(counts, (0,) * 9)
    if column is None and None not in figures:
        figures[None] = _figures(dict.fromkeys(REPORTED_TYPES, 0), (0,) * 9)
    return figures


def policy_exceptions() -> dict[PolicyRule, list[str]]:
    """For every policy rule, the codes of the handling items in scope that break it."""
    return {
        rule: list(
            db.session.scalars(
                handling_items_in_scope(HandlingItem.code)
                .where(predicate)
                .order_by(HandlingItem.code)
            )
        )
        for rule, predicate in POLICY_PREDICATES.items()
    }


def policy_exceptions_by(column: sa.ColumnElement) -> dict[object, dict[PolicyRule, list[str]]]:
    """policy_exceptions() of each group of items (by an ApprovalItem column)."""
    grouped: dict[object, dict[PolicyRule, list[str]]] = {}
    for rule, predicate in POLICY_PREDICATES.items():
        rows = db.session.execute(
            handling_items_in_scope(column, HandlingItem.code)
            .where(predicate)
            .order_by(HandlingItem.code)
        )
        for key, code in rows:
            group = grouped.setdefault(key, {rule: [] for rule in POLICY_PREDICATES})
            group[rule].append(code)
    return grouped


def in_scope_item_types() -> list[ItemType]:
    """The type of every item in scope: the reference computation's first input."""
    return [
        ItemType(value)
        for value in db.session.scalars(sa.select(ApprovalItem.item_type).where(ITEM_IN_SCOPE))
    ]


def in_scope_facts() -> list[HandlingFacts]:
    """The plain values of every handling item in scope: the reference computation's input."""
    rows = db.session.execute(
        handling_items_in_scope(
            HandlingItem.code,
            HandlingItem.case_type,
            HandlingItem.statutory_days,
            HandlingItem.promised_days,
            HandlingItem.visits,
            HandlingItem.visit_reason,
            HandlingItem.online_depth,
        ).order_by(HandlingItem.code)
    )
    return [
        HandlingFacts(
            code=code,
            case_type=CaseType(case_type),
            statutory_days=statutory,
            promised_days=promised,
            visits=visits,
            has_visit_reason=bool(reason and reason.strip()),
            online_depth=depth,
        )
        for code, case_type, statutory, promised, visits, reason, depth in rows
    ]
