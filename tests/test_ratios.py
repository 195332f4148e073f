"""The ratio engine on hand-made cases: definitions, rounding, empty catalogs, policy rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.enums import CaseType, ItemType
from catalog.ratios import (
    HandlingFacts,
    PolicyRule,
    Ratio,
    broken_rules,
    figures_from_facts,
    percent,
    policy_exceptions,
)


def fact(
    code="H1",
    *,
    case_type=CaseType.promised,
    statutory=20,
    promised=5,
    visits=0,
    reason=False,
    depth=4,
) -> HandlingFacts:
    return HandlingFacts(code, case_type, statutory, promised, visits, reason, depth)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (181, 199, "90.95"),  # 90.954773...
        (105, 199, "52.76"),  # 52.763819...
        (1, 8, "12.50"),
        (1, 32, "3.13"),  # exactly 3.125: half rounds up
        (1, 160, "0.63"),  # exactly 0.625
        (3, 160, "1.88"),  # exactly 1.875
        (2, 3, "66.67"),
        (1, 3, "33.33"),
        (0, 7, "0.00"),
        (7, 7, "100.00"),
        (-1, 32, "-3.13"),  # half away from zero, as Decimal's ROUND_HALF_UP
    ],
)
def test_percent_rounds_half_up_exactly(numerator, denominator, expected):
    assert percent(numerator, denominator) == Decimal(expected)
    assert str(percent(numerator, denominator)) == expected


def test_percent_of_nothing_is_no_data_not_a_division_by_zero():
    assert percent(0, 0) is None
    assert Ratio(0, 0).percent is None


def test_empty_catalog_has_counts_of_zero_and_no_percentages():
    figures = figures_from_facts([], [])
    assert figures.is_empty
    assert figures.items_total == 0
    assert figures.items_by_type == dict.fromkeys(
        [
            ItemType.licence,
            ItemType.confirmation,
            ItemType.reward,
            ItemType.adjudication,
            ItemType.other,
        ],
        0,
    )
    for ratio in (
        figures.no_visit_share,
        figures.instant_share,
        figures.compression,
        figures.at_most_one_visit_share,
        figures.online_capable_share,
        figures.fully_online_share,
    ):
        assert ratio.percent is None


def test_shares_are_over_handling_items_and_keep_numerator_and_denominator():
    facts = [
        fact("A", visits=0, depth=5),
        fact("B", visits=1, reason=True, depth=2),
        fact("C", visits=2, reason=True, depth=1),
        fact("D", case_type=CaseType.instant, promised=0, visits=0, depth=7),
    ]
    figures = figures_from_facts([ItemType.licence, ItemType.licence, ItemType.reward], facts)
    assert figures.items_total == 3
    assert figures.items_by_type[ItemType.licence] == 2
    assert figures.no_visit_share == Ratio(2, 4)
    assert figures.instant_share == Ratio(1, 4)
    assert figures.at_most_one_visit_share == Ratio(3, 4)
    assert figures.online_capable_share == Ratio(3, 4)
    assert figures.fully_online_share == Ratio(2, 4)


def test_compression_is_a_ratio_of_sums_not_a_mean_of_item_ratios():
    facts = [fact("A", statutory=20, promised=10), fact("B", statutory=2, promised=0)]
    figures = figures_from_facts([], facts)
    # sums: (22 - 10) / 22 = 54.55 %; the mean of 50 % and 100 % would be 75 %.
    assert (figures.statutory_days, figures.promised_days) == (22, 10)
    assert figures.compression.percent == Decimal("54.55")


def test_items_without_a_statutory_limit_are_left_out_of_compression():
    facts = [fact("A", statutory=20, promised=5), fact("B", statutory=None, promised=8)]
    figures = figures_from_facts([], facts)
    assert figures.limited_handling_items == 1
    assert figures.compression == Ratio(15, 20)
    assert figures.handling_items == 2  # still counted in the shares


def test_instant_items_count_with_promised_zero_in_compression():
    facts = [fact("A", case_type=CaseType.instant, statutory=10, promised=3)]
    figures = figures_from_facts([], facts)
    assert figures.compression == Ratio(10, 10)


def test_unreported_item_types_are_not_counted():
    figures = figures_from_facts([ItemType.punishment, ItemType.licence], [])
    assert figures.items_total == 1


@pytest.mark.parametrize(
    ("facts_kwargs", "rules"),
    [
        ({"statutory": 20, "promised": 5}, []),  # exactly 75 %: allowed
        ({"statutory": 20, "promised": 6}, [PolicyRule.compression_below_minimum]),  # 70 %
        ({"statutory": 60, "promised": 11}, [PolicyRule.promised_over_limit]),
        ({"statutory": None, "promised": 12}, [PolicyRule.promised_over_limit]),
        ({"visits": 1, "reason": False}, [PolicyRule.visit_without_reason]),
        ({"visits": 1, "reason": True}, []),
        (
            {"case_type": CaseType.instant, "promised": 2, "statutory": 20},
            [PolicyRule.instant_with_promised_days],
        ),
        ({"statutory": 0, "promised": 0}, []),  # no positive limit: no per-item compression
    ],
)
def test_policy_rules(facts_kwargs, rules):
    assert broken_rules(fact(**facts_kwargs)) == rules


def test_policy_exceptions_list_codes_per_rule():
    facts = [fact("B", statutory=4, promised=2), fact("A", statutory=8, promised=3), fact("C")]
    exceptions = policy_exceptions(facts)
    assert exceptions[PolicyRule.compression_below_minimum] == ["A", "B"]
    assert exceptions[PolicyRule.promised_over_limit] == []
    assert set(exceptions) == set(PolicyRule)
