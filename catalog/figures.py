"""The ratio engine's counts computed by SQL aggregates over the published catalog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from catalog import measures
from catalog.enums import REPORTED_TYPES, CaseType, ItemType, Status
from catalog.extensions import db
from catalog.measures import EFFECTIVE_PROMISED_DAYS, FIGURE_COUNTS, LIMITED, MISSING, RULES
from catalog.models import ApprovalItem, HandlingItem
from catalog.ratios import CatalogFigures, HandlingFacts, PolicyRule, has_reason

ITEM_IN_SCOPE = sa.and_(
    ApprovalItem.status == Status.published, ApprovalItem.item_type.in_(REPORTED_TYPES)
)
HANDLING_ITEM_IN_SCOPE = sa.and_(ITEM_IN_SCOPE, HandlingItem.status == Status.published)

# The SQL twin of ratios.broken_rules(), from catalog.measures; tests hold the two to each other.
POLICY_PREDICATES: dict[PolicyRule, sa.ColumnElement[bool]] = {
    rule: measure.sql for rule, measure in RULES.items()
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


def handling_totals(*group: sa.ColumnElement) -> sa.Select:
    """Per group: the handling items, the count of each of catalog.measures.FIGURE_COUNTS (in
    its order), the sum of statutory days and of effective promised days with a limit."""
    return handling_items_in_scope(
        *group,
        sa.func.count(HandlingItem.id),
        *(_count_where(measure.sql) for measure in FIGURE_COUNTS.values()),
        sa.func.coalesce(sa.func.sum(HandlingItem.statutory_days), 0),
        sa.func.coalesce(sa.func.sum(sa.case((LIMITED.sql, EFFECTIVE_PROMISED_DAYS), else_=0)), 0),
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
    """The figures of each group of items in scope (by the item's type or handling unit);
    `None` gives the whole catalog as {None: …}."""
    return report_aggregates(exceptions=False).figures(column)


def policy_exceptions() -> dict[PolicyRule, list[str]]:
    """For every policy rule, the codes of the handling items in scope that break it."""
    return policy_exceptions_by(None).get(None, {rule: [] for rule in PolicyRule})


def policy_exceptions_by(
    column: sa.ColumnElement | None,
) -> dict[object, dict[PolicyRule, list[str]]]:
    """policy_exceptions() of each group of items (by the item's type or handling unit)."""
    return report_aggregates(figures=False).exceptions(column)


_GROUP = (ApprovalItem.item_type, ApprovalItem.handling_unit)


@dataclass
class ReportAggregates:
    """What every count of the report is summed from, per (type, handling unit): three queries
    over the catalog, folded into the whole catalog, the types and the units in Python (a
    report needs all three; at 300,000 handling items each query is a scan of the catalog)."""

    items: dict[tuple[str, str], int]  # (type, unit) -> items in scope
    totals: dict[tuple[str, str], tuple[int, ...]]  # (type, unit) -> handling_totals' sums
    broken: list[tuple[str, str, str, frozenset[PolicyRule]]]  # by code: type, unit, code, rules

    @staticmethod
    def _key(column: sa.ColumnElement | None) -> Callable[[tuple[str, str]], object]:
        if column is None:
            return lambda group: None
        for position, grouped in enumerate(_GROUP):
            if column is grouped:
                return lambda group: group[position]
        raise ValueError("figures are grouped by the item's type or handling unit only")

    def figures(self, column: sa.ColumnElement | None) -> dict[object, CatalogFigures]:
        key = self._key(column)
        counts: dict[object, dict[ItemType, int]] = {}
        sums: dict[object, list[int]] = {}
        for group, count in self.items.items():
            by_type = counts.setdefault(key(group), dict.fromkeys(REPORTED_TYPES, 0))
            by_type[ItemType(group[0])] += count
        for group, totals in self.totals.items():
            into = sums.setdefault(key(group), [0] * len(totals))
            for index, value in enumerate(totals):
                into[index] += value
        names = set(counts) | set(sums) | ({None} if column is None else set())
        return {
            name: _figures(counts.get(name, dict.fromkeys(REPORTED_TYPES, 0)),
                           sums.get(name, (0,) * 9))
            for name in names
        }  # fmt: skip

    def exceptions(self, column: sa.ColumnElement | None) -> dict[object, dict[PolicyRule, list]]:
        key = self._key(column)
        grouped: dict[object, dict[PolicyRule, list[str]]] = {}
        for item_type, unit, code, rules in self.broken:
            group = grouped.setdefault(key((item_type, unit)), {r: [] for r in POLICY_PREDICATES})
            for rule in POLICY_PREDICATES:
                if rule in rules:
                    group[rule].append(code)
        return grouped


def report_aggregates(*, figures: bool = True, exceptions: bool = True) -> ReportAggregates:
    """The aggregates of the catalog in scope (leave out what is not needed: each part is a scan
    of the catalog)."""
    items: dict[tuple[str, str], int] = {}
    totals: dict[tuple[str, str], tuple[int, ...]] = {}
    broken: list[tuple[str, str, str, frozenset[PolicyRule]]] = []
    if figures:
        for kind, unit, count in db.session.execute(
            sa.select(*_GROUP, sa.func.count(ApprovalItem.id))
            .where(ITEM_IN_SCOPE)
            .group_by(*_GROUP)
        ):
            items[(_value(kind), unit)] = int(count)
        for kind, unit, *sums in db.session.execute(handling_totals(*_GROUP)):
            totals[(_value(kind), unit)] = tuple(int(value) for value in sums)
    if exceptions:
        rules = list(POLICY_PREDICATES)
        flags = [sa.case((predicate, 1), else_=0) for predicate in POLICY_PREDICATES.values()]
        for kind, unit, code, *flagged in db.session.execute(
            handling_items_in_scope(*_GROUP, HandlingItem.code, *flags)
            .where(sa.or_(*POLICY_PREDICATES.values()))
            .order_by(HandlingItem.code)
        ):
            broken_rules = frozenset(r for r, flag in zip(rules, flagged, strict=True) if flag)
            broken.append((_value(kind), unit, code, broken_rules))
    return ReportAggregates(items, totals, broken)


def _value(kind: object) -> str:
    return str(getattr(kind, "value", kind))


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
            has_visit_reason=has_reason(reason),
            online_depth=depth,
        )
        for code, case_type, statutory, promised, visits, reason, depth in rows
    ]


def policy_exception_counts() -> dict[PolicyRule, int]:
    """How many handling items in scope break each policy rule, in one aggregate query."""
    counts = db.session.execute(
        handling_items_in_scope(*(_count_where(p) for p in POLICY_PREDICATES.values()))
    ).one()
    return {rule: int(count) for rule, count in zip(POLICY_PREDICATES, counts, strict=True)}


# -- data quality: the SQL twin of catalog.elements ----------------------------------------------


# For every element of catalog.elements (by its key): when a handling item's row (joined to its
# item) lacks it, from catalog.measures. Tests hold each to the element's `missing`.
MISSING_PREDICATES: dict[str, sa.ColumnElement[bool]] = {
    key: measure.sql for key, measure in MISSING.items()
}
INCOMPLETE = measures.INCOMPLETE.sql


@dataclass(frozen=True)
class QualityCounts:
    """要素完整率's counts: handling items in scope, the complete ones, and per element (by
    key, in catalog.elements order) the handling items whose row lacks it."""

    handling_items: int
    complete: int
    missing: dict[str, int]


def quality_counts(*conditions: sa.ColumnElement[bool]) -> QualityCounts:
    """The data-quality counts of the handling items in scope, in one aggregate query."""
    total, incomplete, *missing = db.session.execute(
        handling_items_in_scope(
            sa.func.count(HandlingItem.id),
            _count_where(INCOMPLETE),
            *(_count_where(predicate) for predicate in MISSING_PREDICATES.values()),
        ).where(*conditions)
    ).one()
    return QualityCounts(
        int(total),
        int(total) - int(incomplete),
        {key: int(count) for key, count in zip(MISSING_PREDICATES, missing, strict=True)},
    )
