"""The sets of handling items behind every number of the report: one test per count, applied
to the same rows the report was computed from (live or frozen), so a list always sums to its
count. Each test has its SQL twin, which lists the live catalog without loading all of it;
tests hold the two to each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from catalog.enums import CaseType
from catalog.figures import POLICY_PREDICATES
from catalog.models import HandlingItem
from catalog.ratios import (
    FULLY_ONLINE_DEPTH,
    ONLINE_CAPABLE_DEPTH,
    HandlingFacts,
    PolicyRule,
    broken_rules,
)


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    test: Callable[[HandlingFacts], bool]
    sql: sa.ColumnElement[bool]  # the same test on handling_item, for the live catalog


def _rule(rule: PolicyRule) -> Measure:
    return Measure(rule.value, rule.label, lambda fact: rule in broken_rules(fact),
                   POLICY_PREDICATES[rule])  # fmt: skip


_INSTANT = HandlingItem.case_type == CaseType.instant


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
    )
}  # fmt: skip

ITEMS = "items"  # not a set of handling items: the approval items themselves (counts by type)
