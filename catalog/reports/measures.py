"""The sets of handling items behind every number of the report: one test per count, applied
to the same rows the report was computed from (live or frozen), so a list always sums to its
count. Each test has its SQL twin, which lists the live catalog without loading all of it;
tests hold the two to each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from catalog.elements import ELEMENTS
from catalog.enums import CaseType
from catalog.figures import INCOMPLETE, MISSING_PREDICATES, POLICY_PREDICATES
from catalog.models import HandlingItem
from catalog.ratios import (
    FULLY_ONLINE_DEPTH,
    ONLINE_CAPABLE_DEPTH,
    HandlingFacts,
    PolicyRule,
    broken_rules,
)
from catalog.reports.rows import HandlingRow


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    test: Callable[[HandlingFacts], bool]
    sql: sa.ColumnElement[bool]  # the same test on handling_item, for the live catalog
    # a data-quality measure tests the keys of the elements a row lacks instead of its facts
    lacks: Callable[[tuple[str, ...]], bool] | None = None

    @property
    def reads_elements(self) -> bool:
        return self.lacks is not None

    def matches(self, row: HandlingRow) -> bool:
        """The test on one report row (a row without its elements matches no quality measure)."""
        if self.lacks is None:
            return self.test(row.facts)
        return row.missing is not None and self.lacks(row.missing)


def _rule(rule: PolicyRule) -> Measure:
    return Measure(rule.value, rule.label, lambda fact: rule in broken_rules(fact),
                   POLICY_PREDICATES[rule])  # fmt: skip


_INSTANT = HandlingItem.case_type == CaseType.instant

COMPLETE, INCOMPLETE_KEY = "complete", "incomplete"
MISSING_PREFIX = "missing."  # and an element's key: the handling items whose row lacks it


def _quality(key: str, label: str, lacks: Callable[[tuple[str, ...]], bool],
             sql: sa.ColumnElement[bool]) -> Measure:  # fmt: skip
    return Measure(key, label, lambda fact: False, sql, lacks)


def _lacking(key: str) -> Callable[[tuple[str, ...]], bool]:
    return lambda missing: key in missing


QUALITY_MEASURES: tuple[Measure, ...] = (
    _quality(COMPLETE, "要素齐全", lambda missing: not missing, sa.not_(INCOMPLETE)),
    _quality(INCOMPLETE_KEY, "要素不全", bool, INCOMPLETE),
    *(_quality(MISSING_PREFIX + element.key, f"缺少 {element.label}", _lacking(element.key),
               MISSING_PREDICATES[element.key])
      for element in ELEMENTS),
)  # fmt: skip


MEASURES: dict[str, Measure] = {
    measure.key: measure
    for measure in (
        Measure("all", "全部业务办理项", lambda fact: True, sa.true()),
        Measure("no_visit", "不见面审批（到现场0次）", lambda fact: fact.visits == 0,
                HandlingItem.visits == 0),
        Measure("visit", "需到现场", lambda fact: fact.visits > 0, HandlingItem.visits > 0),
        Measure("instant", "即办件", lambda fact: fact.case_type == CaseType.instant, _INSTANT),
        Measure("promised", "承诺件", lambda fact: fact.case_type != CaseType.instant,
                sa.not_(_INSTANT)),
        Measure("at_most_one_visit", "最多跑一次（到现场不超过1次）",
                lambda fact: fact.visits <= 1, HandlingItem.visits <= 1),
        Measure("more_visits", "到现场超过1次", lambda fact: fact.visits > 1,
                HandlingItem.visits > 1),
        Measure("online_capable", "网上可办（深度二级及以上）",
                lambda fact: fact.online_capable,
                HandlingItem.online_depth >= ONLINE_CAPABLE_DEPTH),
        Measure("fully_online", "全程网办（深度五级及以上）",
                lambda fact: fact.fully_online,
                HandlingItem.online_depth >= FULLY_ONLINE_DEPTH),
        Measure("limited", "有法定时限（计入时限压缩比）",
                lambda fact: fact.statutory_days is not None,
                HandlingItem.statutory_days.is_not(None)),
        *(_rule(rule) for rule in PolicyRule),
        *QUALITY_MEASURES,
    )
}  # fmt: skip

ITEMS = "items"  # not a set of handling items: the approval items themselves (counts by type)
