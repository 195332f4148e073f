"""The ratio engine: the reform's figures and policy checks as pure functions over plain values.

Definitions (../shared/DOMAIN.md), over the handling items in scope (published handling items of
published items of the reported types):

- no-visit share     = handling items with 0 visits / all handling items
- instant share      = handling items of case type instant / all handling items
- at-most-one-visit  = handling items with at most 1 visit / all handling items
- online-capable     = handling items with online depth >= 2 / all handling items
- fully online       = handling items with online depth >= 5 / all handling items
  (a handling item whose online depth is not provided counts in neither numerator: a share
  claims only what the data shows; the report's data-quality section counts the gaps)
- compression        = (sum statutory - sum promised) / sum statutory, over the handling items
                       that have a statutory limit; instant items count with promised = 0.
                       A ratio of sums, not a mean of per-item ratios.

Each count is a measure of catalog.measures, where its test is written once, in Python and in
SQL; this module counts the Python tests over plain values (it runs no query and needs no app,
though importing the table imports the models its SQL is written on), catalog.figures sums the
SQL ones, and the tests hold the two to each other.

Percentages are exact: the fraction is rounded half up to two decimals (90.95, never 90.94999).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any

from catalog.enums import REPORTED_TYPES, CaseType, ItemType

# The thresholds, the facts and the rules are defined in catalog.measures; importers read
# them from here too.
from catalog.measures import (  # noqa: F401
    ACKNOWLEDGED_RULES,
    FIGURE_COUNTS,
    FULLY_ONLINE_DEPTH,
    LIMITED,
    MAX_PROMISED_DAYS,
    MIN_ITEM_COMPRESSION,
    MIN_ITEM_COMPRESSION_PERCENT,
    ONLINE_CAPABLE_DEPTH,
    RULES,
    HandlingFacts,
    PolicyRule,
    compression_below_minimum,
    has_reason,
    promised_over_limit,
)

_HUNDREDTH = Decimal("0.01")


def percent(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator as a percentage rounded half up to 2 places; None for 0/0."""
    if denominator == 0:
        return None
    exact = Fraction(numerator * 100, denominator)
    sign = -1 if exact < 0 else 1
    hundredths = floor(abs(exact) * 100 + Fraction(1, 2))
    return (Decimal(sign * hundredths) / 100).quantize(_HUNDREDTH)


@dataclass(frozen=True)
class Ratio:
    """A share that keeps its numerator and denominator, so every percent can be traced."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> Decimal | None:
        return percent(self.numerator, self.denominator)


def handling_facts(handling: Any) -> HandlingFacts:
    """The facts of a handling item given as an ORM row or as data (a mapping)."""
    if isinstance(handling, Mapping):
        value = handling.get
    else:

        def value(name: str) -> Any:
            return getattr(handling, name, None)

    return HandlingFacts(
        code=value("code"),
        case_type=CaseType(value("case_type")),
        statutory_days=value("statutory_days"),
        promised_days=value("promised_days"),
        visits=value("visits"),
        has_visit_reason=has_reason(value("visit_reason")),
        online_depth=value("online_depth"),
        charges_fee=value("charges_fee"),
    )


@dataclass(frozen=True)
class CatalogFigures:
    """The counts behind every reform ratio."""

    items_by_type: Mapping[ItemType, int]
    handling_items: int
    instant: int
    no_visit: int
    at_most_one_visit: int
    online_capable: int
    fully_online: int
    limited_handling_items: int  # handling items with a statutory limit
    statutory_days: int  # sum over those
    promised_days: int  # sum of effective promised days over those

    def _combine(self, other: CatalogFigures, sign: int) -> CatalogFigures:
        counts = {
            name: getattr(self, name) + sign * getattr(other, name)
            for name in ("handling_items", "instant", "no_visit", "at_most_one_visit",
                         "online_capable", "fully_online", "limited_handling_items",
                         "statutory_days", "promised_days")
        }  # fmt: skip
        by_type = {
            item_type: self.items_by_type.get(item_type, 0)
            + sign * other.items_by_type.get(item_type, 0)
            for item_type in REPORTED_TYPES
        }
        return CatalogFigures(items_by_type=by_type, **counts)

    def __add__(self, other: CatalogFigures) -> CatalogFigures:
        return self._combine(other, 1)

    def __sub__(self, other: CatalogFigures) -> CatalogFigures:
        return self._combine(other, -1)

    @property
    def items_total(self) -> int:
        return sum(self.items_by_type.values())

    @property
    def is_empty(self) -> bool:
        return self.items_total == 0 and self.handling_items == 0

    @property
    def no_visit_share(self) -> Ratio:
        return Ratio(self.no_visit, self.handling_items)

    @property
    def instant_share(self) -> Ratio:
        return Ratio(self.instant, self.handling_items)

    @property
    def at_most_one_visit_share(self) -> Ratio:
        return Ratio(self.at_most_one_visit, self.handling_items)

    @property
    def online_capable_share(self) -> Ratio:
        return Ratio(self.online_capable, self.handling_items)

    @property
    def fully_online_share(self) -> Ratio:
        return Ratio(self.fully_online, self.handling_items)

    @property
    def compression(self) -> Ratio:
        return Ratio(self.statutory_days - self.promised_days, self.statutory_days)


def figures_from_facts(
    item_types: Iterable[ItemType], handling_items: Iterable[HandlingFacts]
) -> CatalogFigures:
    """The reference computation: item types of the items in scope, and their handling items."""
    by_type = dict.fromkeys(REPORTED_TYPES, 0)
    for item_type in item_types:
        if item_type in by_type:
            by_type[ItemType(item_type)] += 1
    facts = list(handling_items)
    limited = [fact for fact in facts if LIMITED.test(fact)]
    counts = {name: sum(map(measure.test, facts)) for name, measure in FIGURE_COUNTS.items()}
    return CatalogFigures(
        items_by_type=by_type,
        handling_items=len(facts),
        **counts,
        statutory_days=sum(fact.statutory_days or 0 for fact in limited),
        promised_days=sum(fact.effective_promised_days for fact in limited),
    )


# The reform's requirements in one sentence, for the pages that state them.
POLICY_TEXT = (
    f"改革要求承诺时限不超过{MAX_PROMISED_DAYS}个工作日、单项时限压缩比不低于"
    f"{MIN_ITEM_COMPRESSION_PERCENT}%；需到现场的须说明原因；即办件承诺时限应为0。"
)


def warnings_for(handling: Any) -> list[PolicyRule]:
    """The acknowledged rules a handling item (a row or data) breaks, in rule order."""
    return [rule for rule in broken_rules(handling_facts(handling)) if rule in ACKNOWLEDGED_RULES]


@dataclass(frozen=True)
class StepsOverPromise:
    """A plausibility warning, not a reform rule: the steps of 办理流程 add up to more working
    days than the promised limit (a step without days counts 0). The editor and an import's
    preview show it; it needs no acknowledgement and is no policy exception of the report."""

    steps_days: int
    promised_days: int

    value = "steps_over_promise"
    needs_acknowledgement = False

    @property
    def label(self) -> str:
        return (
            f"办理流程各环节合计{self.steps_days}个工作日，超过承诺时限{self.promised_days}个工作日"
        )


def steps_days(handling: Any) -> int:
    """The working days of a handling item's steps (a row or data), a step without days as 0."""
    steps = handling.get("steps") if isinstance(handling, Mapping) else handling.steps
    return sum(
        (step.get("days") if isinstance(step, Mapping) else step.days) or 0 for step in steps or []
    )


def steps_over_promise(handling: Any) -> StepsOverPromise | None:
    """The steps warning of a handling item (a row or data), or None."""
    promised = (
        handling.get("promised_days") if isinstance(handling, Mapping) else (handling.promised_days)
    )
    total = steps_days(handling)
    if promised is None or total <= promised:
        return None
    return StepsOverPromise(total, promised)


def editor_warnings(handling: Any) -> list[PolicyRule | StepsOverPromise]:
    """Everything an editor is warned about for one handling item (a row or data): the
    acknowledged policy rules it breaks, then the plausibility of its steps. What the edit
    page and an import's preview list; only the policy rules need acknowledging."""
    steps = steps_over_promise(handling)
    return [*warnings_for(handling), *([steps] if steps is not None else [])]


def item_compression(fact: HandlingFacts) -> Ratio | None:
    """(statutory - promised) / statutory of one handling item; None without a positive limit."""
    if not fact.statutory_days:
        return None
    return Ratio(fact.statutory_days - fact.effective_promised_days, fact.statutory_days)


def time_limit_rules(
    statutory_days: int | None, promised_days: int, effective_promised_days: int
) -> list[PolicyRule]:
    """The two time-limit rules a handling item breaks: promised over 10 working days, and
    compression (counting instant items as 0 promised days) below 75 %."""
    broken = []
    if promised_over_limit(promised_days):
        broken.append(PolicyRule.promised_over_limit)
    if compression_below_minimum(statutory_days, effective_promised_days):
        broken.append(PolicyRule.compression_below_minimum)
    return broken


def broken_rules(fact: HandlingFacts) -> list[PolicyRule]:
    """The policy rules one handling item breaks, in rule order (catalog.measures.RULES)."""
    return [rule for rule, measure in RULES.items() if measure.test(fact)]


def policy_exceptions(facts: Iterable[HandlingFacts]) -> dict[PolicyRule, list[str]]:
    """For every rule, the codes of the handling items that break it (sorted)."""
    exceptions: dict[PolicyRule, list[str]] = {rule: [] for rule in PolicyRule}
    for fact in facts:
        for rule in broken_rules(fact):
            exceptions[rule].append(fact.code)
    return {rule: sorted(codes) for rule, codes in exceptions.items()}
