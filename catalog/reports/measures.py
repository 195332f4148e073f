"""The sets of handling items behind every number of the report, as an SQL predicate for the
live catalog and as a Python test for a snapshot's stored rows (tests hold the two equal)."""

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
    sql: sa.ColumnElement[bool]
    test: Callable[[HandlingFacts], bool]


def _rule(rule: PolicyRule) -> Measure:
    return Measure(
        rule.value, rule.label, POLICY_PREDICATES[rule], lambda fact: rule in broken_rules(fact)
    )


_instant = HandlingItem.case_type == CaseType.instant
_limited = HandlingItem.statutory_days.is_not(None)

MEASURES: dict[str, Measure] = {
    measure.key: measure
    for measure in (
        Measure("all", "全部业务办理项", sa.true(), lambda fact: True),
        Measure("no_visit", "不见面审批（到现场0次）", HandlingItem.visits == 0,
                lambda fact: fact.visits == 0),
        Measure("visit", "需到现场", HandlingItem.visits > 0, lambda fact: fact.visits > 0),
        Measure("instant", "即办件", _instant, lambda fact: fact.case_type == CaseType.instant),
        Measure("promised", "承诺件", sa.not_(_instant),
                lambda fact: fact.case_type != CaseType.instant),
        Measure("at_most_one_visit", "最多跑一次（到现场不超过1次）", HandlingItem.visits <= 1,
                lambda fact: fact.visits <= 1),
        Measure("online_capable", "网上可办（深度二级及以上）",
                HandlingItem.online_depth >= ONLINE_CAPABLE_DEPTH,
                lambda fact: fact.online_depth >= ONLINE_CAPABLE_DEPTH),
        Measure("fully_online", "全程网办（深度五级及以上）",
                HandlingItem.online_depth >= FULLY_ONLINE_DEPTH,
                lambda fact: fact.online_depth >= FULLY_ONLINE_DEPTH),
        Measure("limited", "有法定时限（计入时限压缩比）", _limited,
                lambda fact: fact.statutory_days is not None),
        *(_rule(rule) for rule in PolicyRule),
    )
}  # fmt: skip

# The measure whose count is the numerator of each share of the report (catalog.report.SHARES).
SHARE_MEASURES = {
    "no_visit": "no_visit",
    "instant": "instant",
    "at_most_one_visit": "at_most_one_visit",
    "online_capable": "online_capable",
    "fully_online": "fully_online",
}
