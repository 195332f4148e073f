"""The measures of the catalog, defined once: each a key, a Chinese label, a test in Python over
a handling item's plain facts and the same test in SQL on handling_item (joined to its
approval_item where it reads the item's columns).

Every count of the report is one of these: the ratio engine (catalog.ratios) counts the Python
tests, its SQL twin (catalog.figures) sums the SQL ones, the report's provenance lists
(catalog.reports.measures) list either, the search frame's facet flags (catalog.search.frame)
read the Python tests of SEARCH_FLAGS, and the report document (catalog.report) names the
shares in SHARES. tests/test_measures.py holds the two forms of every measure equal on SQLite
and PostgreSQL, and that those readers take their tests from here. docs/measures.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

import sqlalchemy as sa

from catalog.elements import ELEMENTS, Element
from catalog.enums import CaseType
from catalog.models import ApprovalItem, Fee, HandlingItem, LegalBasis, Material, ProcessStep

# Policy thresholds from the reform (DOMAIN.md): the one place they are written. The measures
# below, the editor's warnings, the importer, the report, its charts and the templates
# (ratios.POLICY_TEXT) all read them from here.
MAX_PROMISED_DAYS = 10
MIN_ITEM_COMPRESSION = Fraction(3, 4)
MIN_ITEM_COMPRESSION_PERCENT = int(MIN_ITEM_COMPRESSION * 100)
ONLINE_CAPABLE_DEPTH = 2
FULLY_ONLINE_DEPTH = 5


@dataclass(frozen=True)
class HandlingFacts:
    """The plain values of one handling item that the measures read."""

    code: str
    case_type: CaseType
    statutory_days: int | None
    promised_days: int
    visits: int
    has_visit_reason: bool
    online_depth: int | None  # None: not provided, counted as neither online share
    charges_fee: bool | None = None  # None: not provided, which is not 不收费 (False)

    @property
    def online_capable(self) -> bool:
        return ONLINE_CAPABLE.test(self)

    @property
    def fully_online(self) -> bool:
        return FULLY_ONLINE.test(self)

    @property
    def effective_promised_days(self) -> int:
        """Promised days as the compression counts them: instant items count 0
        (EFFECTIVE_PROMISED_DAYS in SQL)."""
        return 0 if self.case_type == CaseType.instant else self.promised_days


def has_reason(reason: str | None) -> bool:
    """A visit's reason is given when it is not blank (HAS_VISIT_REASON in SQL)."""
    return bool(reason and reason.strip())


def flag_facts(visits: int, case_type: Any, charges_fee: bool | None) -> HandlingFacts:
    """The facts the search flags read (visits, case type, fee), as the frame groups by them;
    the rest are placeholders no flag reads (tests/test_measures.py holds the flags of these
    facts to the flags of every handling item's full facts)."""
    return HandlingFacts("", CaseType(case_type), None, 0, visits, False, None, charges_fee)


# -- SQL of the values the tests read -------------------------------------------------------------

EFFECTIVE_PROMISED_DAYS = sa.case(
    (HandlingItem.case_type == CaseType.instant, 0), else_=HandlingItem.promised_days
)
HAS_VISIT_REASON = sa.func.coalesce(sa.func.trim(HandlingItem.visit_reason), "") != ""
_INSTANT = HandlingItem.case_type == CaseType.instant
_VISIT_WITHOUT_REASON = sa.and_(HandlingItem.visits > 0, sa.not_(HAS_VISIT_REASON))


@dataclass(frozen=True)
class Measure:
    """A set of handling items: its key, its label, its test in Python over a handling item's
    facts and in SQL. A data-quality measure tests the keys of the elements a row lacks
    (`lacks`, from catalog.elements' `missing` of each element) instead of the facts."""

    key: str
    label: str
    test: Callable[[HandlingFacts], bool] | None
    sql: sa.ColumnElement[bool]
    lacks: Callable[[tuple[str, ...]], bool] | None = None
    element: Element | None = None  # a "missing." measure's element

    @property
    def reads_elements(self) -> bool:
        return self.lacks is not None

    def matches(self, row: Any) -> bool:
        """The test on one report row (a row without its elements matches no quality measure)."""
        if self.lacks is None:
            return self.test(row.facts)  # type: ignore[misc]
        return row.missing is not None and self.lacks(row.missing)


def _fact(key: str, label: str, test: Callable[[HandlingFacts], bool],
          sql: sa.ColumnElement[bool]) -> Measure:  # fmt: skip
    return Measure(key, label, test, sql)


ALL = _fact("all", "全部业务办理项", lambda fact: True, sa.true())
NO_VISIT = _fact("no_visit", "不见面审批（到现场0次）", lambda fact: fact.visits == 0,
                 HandlingItem.visits == 0)  # fmt: skip
VISIT = _fact("visit", "需到现场", lambda fact: fact.visits > 0, HandlingItem.visits > 0)
INSTANT = _fact("instant", "即办件", lambda fact: fact.case_type == CaseType.instant, _INSTANT)
PROMISED = _fact("promised", "承诺件", lambda fact: fact.case_type != CaseType.instant,
                 sa.not_(_INSTANT))  # fmt: skip
AT_MOST_ONE_VISIT = _fact("at_most_one_visit", "最多跑一次（到现场不超过1次）",
                          lambda fact: fact.visits <= 1, HandlingItem.visits <= 1)  # fmt: skip
MORE_VISITS = _fact("more_visits", "到现场超过1次", lambda fact: fact.visits > 1,
                    HandlingItem.visits > 1)  # fmt: skip
ONLINE_CAPABLE = _fact(
    "online_capable", "网上可办（深度二级及以上）",
    lambda fact: fact.online_depth is not None and fact.online_depth >= ONLINE_CAPABLE_DEPTH,
    HandlingItem.online_depth >= ONLINE_CAPABLE_DEPTH,
)  # fmt: skip
FULLY_ONLINE = _fact(
    "fully_online", "全程网办（深度五级及以上）",
    lambda fact: fact.online_depth is not None and fact.online_depth >= FULLY_ONLINE_DEPTH,
    HandlingItem.online_depth >= FULLY_ONLINE_DEPTH,
)  # fmt: skip
LIMITED = _fact("limited", "有法定时限（计入时限压缩比）",
                lambda fact: fact.statutory_days is not None,
                HandlingItem.statutory_days.is_not(None))  # fmt: skip
# 不收费 said explicitly: a fee not provided (None) is not
NO_FEE = _fact("no_fee", "不收费",
               lambda fact: fact.charges_fee is not None and not fact.charges_fee,
               HandlingItem.charges_fee.is_(False))  # fmt: skip


# -- the policy rules -----------------------------------------------------------------------------


class PolicyRule(StrEnum):
    """Reform rules a handling item may break; staff see them as warnings, reports list them."""

    promised_over_limit = "promised_over_limit"
    compression_below_minimum = "compression_below_minimum"
    visit_without_reason = "visit_without_reason"
    instant_with_promised_days = "instant_with_promised_days"

    @property
    def label(self) -> str:
        return _RULE_LABELS[self]

    @property
    def needs_acknowledgement(self) -> bool:
        """Whether an editor must acknowledge this rule to save (ACKNOWLEDGED_RULES)."""
        return self in ACKNOWLEDGED_RULES


_RULE_LABELS = {
    PolicyRule.promised_over_limit: f"承诺时限超过{MAX_PROMISED_DAYS}个工作日",
    PolicyRule.compression_below_minimum: f"时限压缩比低于{MIN_ITEM_COMPRESSION_PERCENT}%",
    PolicyRule.visit_without_reason: "需到现场但未说明原因",
    PolicyRule.instant_with_promised_days: "即办件的承诺时限不为0",
}

# The rules an editor is warned about and must acknowledge to save, and that an import lists as
# warnings. An instant item promising days is refused by the service layer; a visit without its
# reason is a gap of the item's elements (catalog.elements), listed rather than refused.
ACKNOWLEDGED_RULES = (PolicyRule.promised_over_limit, PolicyRule.compression_below_minimum)


def promised_over_limit(promised_days: int) -> bool:
    return promised_days > MAX_PROMISED_DAYS


def compression_below_minimum(statutory_days: int | None, effective_promised_days: int) -> bool:
    """(statutory - promised) / statutory below the minimum; only with a positive limit.
    (s - p) / s < a / b  <=>  b * (s - p) < a * s for s > 0: exact in integers, as the SQL
    computes it; a comparison takes 0.35 µs where Fractions took 2.9 µs (timeit, this
    machine), which the reports over frozen rows pay once a handling item."""
    return (
        statutory_days is not None
        and statutory_days > 0
        and MIN_ITEM_COMPRESSION.denominator * (statutory_days - effective_promised_days)
        < MIN_ITEM_COMPRESSION.numerator * statutory_days
    )


RULES: dict[PolicyRule, Measure] = {
    rule: Measure(rule.value, rule.label, test, sql)
    for rule, test, sql in (
        (PolicyRule.promised_over_limit,
         lambda fact: promised_over_limit(fact.promised_days),
         HandlingItem.promised_days > MAX_PROMISED_DAYS),
        # (s - p) / s < a / b  <=>  b * (s - p) < a * s, exact in integers, for s > 0.
        (PolicyRule.compression_below_minimum,
         lambda fact: compression_below_minimum(fact.statutory_days,
                                                fact.effective_promised_days),
         sa.and_(HandlingItem.statutory_days > 0,
                 MIN_ITEM_COMPRESSION.denominator
                 * (HandlingItem.statutory_days - EFFECTIVE_PROMISED_DAYS)
                 < MIN_ITEM_COMPRESSION.numerator * HandlingItem.statutory_days)),
        (PolicyRule.visit_without_reason,
         lambda fact: fact.visits > 0 and not fact.has_visit_reason,
         _VISIT_WITHOUT_REASON),
        (PolicyRule.instant_with_promised_days,
         lambda fact: fact.case_type == CaseType.instant and fact.promised_days > 0,
         sa.and_(_INSTANT, HandlingItem.promised_days > 0)),
    )
}  # fmt: skip


# -- data quality: each element's "missing" (catalog.elements) on the row -------------------------


def _blank_text(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    return sa.func.coalesce(sa.func.trim(column), "") == ""


def _empty_list(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    # a JSON list column: NULL, JSON null or [] (as services write it, on both databases)
    return sa.or_(column.is_(None), sa.cast(column, sa.Text).in_(("[]", "null")))


def _none_of(foreign_key: sa.ColumnElement, owner: sa.ColumnElement) -> sa.ColumnElement[bool]:
    return ~sa.exists().where(foreign_key == owner)


# By element key: when a handling item's row (joined to its item) lacks the element, the SQL
# of the element's `missing` over item_data().
_MISSING_SQL: dict[str, sa.ColumnElement[bool]] = {
    "implementing_body": _blank_text(ApprovalItem.implementing_body),
    "handling_unit": _blank_text(ApprovalItem.handling_unit),
    "exercise_level": ApprovalItem.exercise_level.is_(None),
    "power_source": ApprovalItem.power_source.is_(None),
    "service_targets": _empty_list(ApprovalItem.service_targets),
    "legal_basis": _none_of(LegalBasis.item_id, ApprovalItem.id),
    "conditions": _blank_text(ApprovalItem.conditions),
    "result.name": _blank_text(ApprovalItem.result_name),
    "result.type": ApprovalItem.result_type.is_(None),
    "consultation": _blank_text(ApprovalItem.consultation),
    "complaint": _blank_text(ApprovalItem.complaint),
    "location": _blank_text(ApprovalItem.location),
    "hours": _blank_text(ApprovalItem.hours),
    "situation": _blank_text(HandlingItem.situation),
    "visit_reason": _VISIT_WITHOUT_REASON,
    "forms": sa.not_(
        sa.or_(HandlingItem.form_window, HandlingItem.form_online, HandlingItem.form_express)
    ),
    "online_depth": HandlingItem.online_depth.is_(None),
    # fees: None (not provided) unless there are fee rows; charges_fee False is 不收费
    "fees": sa.and_(
        HandlingItem.charges_fee.is_(None), _none_of(Fee.handling_item_id, HandlingItem.id)
    ),
    "materials": _none_of(Material.handling_item_id, HandlingItem.id),
    "steps": _none_of(ProcessStep.handling_item_id, HandlingItem.id),
}
if list(_MISSING_SQL) != [element.key for element in ELEMENTS]:  # pragma: no cover
    raise RuntimeError("every element of catalog.elements needs its SQL here, in its order")

COMPLETE_KEY, INCOMPLETE_KEY = "complete", "incomplete"
MISSING_PREFIX = "missing."  # and an element's key: the handling items whose row lacks it


def _lacking(key: str) -> Callable[[tuple[str, ...]], bool]:
    return lambda missing: key in missing


MISSING: dict[str, Measure] = {
    element.key: Measure(MISSING_PREFIX + element.key, f"缺少 {element.label}", None,
                         _MISSING_SQL[element.key], _lacking(element.key), element)
    for element in ELEMENTS
}  # fmt: skip
INCOMPLETE = Measure(INCOMPLETE_KEY, "要素不全", None,
                     sa.or_(*(m.sql for m in MISSING.values())), bool)  # fmt: skip
COMPLETE = Measure(COMPLETE_KEY, "要素齐全", None, sa.not_(INCOMPLETE.sql),
                   lambda missing: not missing)  # fmt: skip
QUALITY: tuple[Measure, ...] = (COMPLETE, INCOMPLETE, *MISSING.values())


# -- what each reader takes -----------------------------------------------------------------------

# CatalogFigures' counts (by field name), in the order catalog.figures.handling_totals sums them.
FIGURE_COUNTS: dict[str, Measure] = {
    "instant": INSTANT,
    "no_visit": NO_VISIT,
    "at_most_one_visit": AT_MOST_ONE_VISIT,
    "online_capable": ONLINE_CAPABLE,
    "fully_online": FULLY_ONLINE,
    "limited_handling_items": LIMITED,
}


@dataclass(frozen=True)
class Share:
    """A share of the report: its measure over all handling items in scope."""

    measure: Measure
    label: str
    definition: str
    attribute: str  # of CatalogFigures

    @property
    def key(self) -> str:
        return self.measure.key


SHARES: tuple[Share, ...] = (
    Share(NO_VISIT, "不见面审批占比", "到办事现场次数为0的业务办理项 / 全部业务办理项",
          "no_visit_share"),
    Share(INSTANT, "即办件占比", "即办件业务办理项 / 全部业务办理项", "instant_share"),
    Share(AT_MOST_ONE_VISIT, "最多跑一次占比",
          "到办事现场次数不超过1次的业务办理项 / 全部业务办理项", "at_most_one_visit_share"),
    Share(ONLINE_CAPABLE, "网上可办占比",
          "网上办理深度达到二级（收件）及以上的业务办理项 / 全部业务办理项",
          "online_capable_share"),
    Share(FULLY_ONLINE, "全程网办占比",
          "网上办理深度达到五级（办理）及以上的业务办理项 / 全部业务办理项",
          "fully_online_share"),
)  # fmt: skip
COMPRESSION_DEFINITION = (
    "（法定时限之和 − 承诺时限之和）/ 法定时限之和，仅计有法定时限的业务办理项，即办件承诺时限按0计"
)

# The search's facet flags (query-string keys), in the frame's bit order.
SEARCH_FLAGS: dict[str, Measure] = {
    "no_visit": NO_VISIT,
    "instant": INSTANT,
    "no_fee": NO_FEE,
    "one_visit": AT_MOST_ONE_VISIT,
}

# Every measure, each once, by key.
MEASURES: dict[str, Measure] = {
    measure.key: measure
    for measure in (ALL, NO_VISIT, VISIT, INSTANT, PROMISED, AT_MOST_ONE_VISIT, MORE_VISITS,
                    ONLINE_CAPABLE, FULLY_ONLINE, LIMITED, NO_FEE, *RULES.values(), *QUALITY)
}  # fmt: skip
