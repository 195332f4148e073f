"""Every measure's Python test says of every handling item what its SQL says, on both databases;
and the readers of the measures take them from catalog.measures, so a second definition fails."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog import figures, measures, ratios
from catalog.elements import ELEMENTS, gaps
from catalog.enums import (
    CaseType,
    ExerciseLevel,
    ItemType,
    MaterialForm,
    MaterialKind,
    MaterialSource,
    Necessity,
    PowerSource,
    ResultType,
    Status,
)
from catalog.measures import (
    FIGURE_COUNTS,
    MEASURES,
    MISSING,
    QUALITY,
    RULES,
    SEARCH_FLAGS,
    Measure,
    PolicyRule,
    flag_facts,
)
from catalog.models import ApprovalItem, Fee, HandlingItem, LegalBasis, Material, ProcessStep
from catalog.ratios import figures_from_facts, handling_facts
from catalog.reports import measures as report_measures
from catalog.search import frame
from catalog.services import item_data

# -- a varied catalog, every boundary of every test -----------------------------------------------

# (case type, statutory days, promised days): the limits' boundaries. Compression at exactly
# 75 % (20/5, 4/1) is not below it, one day more is; 10 promised days are within the limit, 11
# over it; a limit of 0 has no compression; instant items promise 0 (a CHECK constraint).
LIMITS = [
    *((CaseType.promised, statutory, promised)
      for statutory, promised in itertools.product((None, 0, 1, 4, 20, 40), (0, 1, 2, 5, 6, 10, 11))
      if statutory is None or promised <= statutory),
    *((CaseType.instant, statutory, 0) for statutory in (None, 0, 1, 20)),
]  # fmt: skip
# a visit's reason; the database refuses a blank one where there is a visit
REASONS = [None, "", "  ", "需核验原件"]
DEPTHS = [None, 1, 2, 4, 5, 7]
FEES = [(None, 0), (False, 0), (True, 1), (None, 1), (True, 0)]  # (charges_fee, fee rows)
FORMS = [(True, True, False), (False, False, False), (False, False, True)]
TEXTS = [None, "", "  ", "新办"]
COUNTS = [0, 1, 2]  # materials, steps

ITEM_TEXTS = [None, "", "  ", "许昌市交通运输局"]
TARGETS = [None, [], ["enterprise"], ["enterprise", "citizen"]]


def _pick(options: list, number: int, stride: int):
    return options[(number * stride + number // len(options)) % len(options)]


def _item(number: int) -> ApprovalItem:
    text = _pick(ITEM_TEXTS, number, 1)
    item = ApprovalItem(
        code=f"M-{number:03d}",
        name=f"事项{number}",
        item_type=_pick(list(ItemType), number, 1),
        implementing_body=text,
        handling_unit=_pick(ITEM_TEXTS, number, 3),
        exercise_level=_pick([None, ExerciseLevel.city], number, 1),
        power_source=_pick([PowerSource.statutory, None], number, 1),
        service_targets=_pick(TARGETS, number, 1),
        conditions=_pick(ITEM_TEXTS, number, 5),
        result_name=_pick(ITEM_TEXTS, number, 7),
        result_type=_pick([ResultType.certificate, None], number, 3),
        consultation=_pick(ITEM_TEXTS, number, 2),
        complaint=_pick(ITEM_TEXTS, number, 9),
        location=_pick(ITEM_TEXTS, number, 11),
        hours=_pick(ITEM_TEXTS, number, 13),
        status=_pick(list(Status), number, 1),
    )
    if number % 3:
        item.legal_bases = [LegalBasis(law="《道路运输条例》")]
    return item


def _material(index: int) -> Material:
    return Material(
        name=f"材料{index}",
        kind=MaterialKind.original,
        form=MaterialForm.paper,
        copies=1,
        necessity=Necessity.required,
        source=MaterialSource.applicant,
    )


def _handling(number: int, visits: int) -> HandlingItem:
    case_type, statutory, promised = LIMITS[number % len(LIMITS)]
    reason = _pick(REASONS, number, 3)
    if visits and reason is not None and not reason.strip():
        reason = None
    charges_fee, fee_rows = _pick(FEES, number, 7)
    window, online, express = _pick(FORMS, number, 5)
    handling = HandlingItem(
        code=f"M-{number:03d}-{visits}",
        situation=_pick(TEXTS, number, 11),
        case_type=case_type,
        statutory_days=statutory,
        promised_days=promised,
        visits=visits,
        visit_reason=reason,
        form_window=window,
        form_online=online,
        form_express=express,
        online_depth=_pick(DEPTHS, number, 13),
        charges_fee=charges_fee,
        status=_pick(list(Status), number, 17),
    )
    handling.fees = [Fee(name="工本费", standard="10元", basis="豫价费〔2000〕1号")
                     for _row in range(fee_rows)]  # fmt: skip
    handling.materials = [_material(index) for index in range(_pick(COUNTS, number, 19))]
    handling.steps = [ProcessStep(name=f"环节{index}", days=1)
                      for index in range(_pick(COUNTS, number, 23))]  # fmt: skip
    return handling


def _complete_item() -> ApprovalItem:
    """An item lacking nothing, with a handling item of each limit lacking nothing."""
    item = _item(0)
    item.code = "M-C"
    for name in (
        "implementing_body",
        "handling_unit",
        "conditions",
        "result_name",
        "consultation",
        "complaint",
        "location",
        "hours",
    ):
        setattr(item, name, ITEM_TEXTS[-1])
    item.exercise_level, item.power_source = ExerciseLevel.city, PowerSource.statutory
    item.service_targets, item.result_type = TARGETS[-1], ResultType.certificate
    item.legal_bases = [LegalBasis(law="《道路运输条例》")]
    item.handling_items = []
    for number in range(len(LIMITS)):
        handling = _handling(number, number % 3)
        handling.code = f"M-C-{number:03d}"
        handling.situation, handling.visit_reason = TEXTS[-1], REASONS[-1]
        handling.form_window, handling.online_depth = True, DEPTHS[-1]
        handling.charges_fee, handling.fees = False, []
        handling.materials = [_material(0)]
        handling.steps = [ProcessStep(name="受理", days=1)]
        item.handling_items.append(handling)
    return item


def insert_varied_catalog(db) -> None:
    """Rows written directly, so they hold what the database allows and the services would not
    write (a fee flag without its rows, a blank text of spaces, compression under 75 %): every
    limit of LIMITS with 0, 1 and 2 visits, the other fields cycled through their values."""
    for number in range(len(LIMITS)):
        item = _item(number)
        item.handling_items = [_handling(number, visits) for visits in (0, 1, 2)]
        db.session.add(item)
    db.session.add(_complete_item())
    db.session.flush()
    db.session.expire_all()  # read back as the database holds them


# -- the two forms agree ------------------------------------------------------------------------


def python_results(db) -> dict[str, dict[str, bool]]:
    """By handling item code, by measure key: the Python test (over the facts, or, for data
    quality, over the elements catalog.elements finds missing in item_data())."""
    results = {}
    for item in db.session.scalars(sa.select(ApprovalItem)):
        found = gaps(item_data(item))
        for handling in item.handling_items:
            facts, lacking = handling_facts(handling), tuple(found.of(handling.code))
            results[handling.code] = {
                key: measure.lacks(lacking) if measure.reads_elements else measure.test(facts)
                for key, measure in MEASURES.items()
            }
    return results


def sql_results(db) -> dict[str, dict[str, bool]]:
    flags = [sa.case((measure.sql, 1), else_=0) for measure in MEASURES.values()]
    rows = db.session.execute(
        sa.select(HandlingItem.code, *flags).select_from(HandlingItem).join(ApprovalItem)
    )
    return {code: {key: bool(flag) for key, flag in zip(MEASURES, flagged, strict=True)}
            for code, *flagged in rows}  # fmt: skip


def test_every_measure_says_the_same_in_python_and_sql(db):
    insert_varied_catalog(db)
    python, sql = python_results(db), sql_results(db)
    assert set(python) == set(sql)
    for code in sorted(python):
        assert python[code] == sql[code], code
    # the catalog reaches both sides of every measure, but the rule the database refuses (a
    # CHECK constraint) and the measure of all
    for key in MEASURES:
        seen = {python[code][key] for code in python}
        expected = {"all": {True}, PolicyRule.instant_with_promised_days: {False}}.get(
            key, {True, False}
        )
        assert seen == expected, key


def test_the_varied_catalog_reaches_every_boundary(db):
    insert_varied_catalog(db)
    rows = db.session.scalars(sa.select(HandlingItem)).all()
    assert {h.visits for h in rows} == {0, 1, 2}
    assert {h.online_depth for h in rows} == set(DEPTHS)
    assert {(h.charges_fee, len(h.fees)) for h in rows} == set(FEES)
    assert {h.statutory_days for h in rows} == {None, 0, 1, 4, 20, 40}
    assert {h.situation for h in rows} == set(TEXTS)
    assert {(h.case_type, h.statutory_days is None) for h in rows} == {
        (case, limited) for case in CaseType for limited in (True, False)
    }
    assert {h.visit_reason for h in rows if h.visits} == {None, "需核验原件"}
    assert {h.visit_reason for h in rows if not h.visits} == set(REASONS)
    assert {len(h.materials) for h in rows} == {len(h.steps) for h in rows} == set(COUNTS)


def test_the_search_flags_read_only_what_the_frame_groups_by(db):
    """The frame tests its flags on (visits, case type, fee) alone: the same answer as on the
    handling item's whole facts."""
    insert_varied_catalog(db)
    for handling in db.session.scalars(sa.select(HandlingItem)):
        whole = handling_facts(handling)
        grouped = flag_facts(handling.visits, handling.case_type.value, handling.charges_fee)
        for measure in SEARCH_FLAGS.values():
            assert measure.test(grouped) == measure.test(whole)


# -- the readers take them from the table --------------------------------------------------------


def test_each_measure_is_defined_once():
    keys = [measure.key for measure in MEASURES.values()]
    assert len(keys) == len(set(keys))
    assert len({id(measure) for measure in MEASURES.values()}) == len(MEASURES)
    assert set(MISSING) == {element.key for element in ELEMENTS}
    assert set(QUALITY) <= set(MEASURES.values())
    for measure in (*FIGURE_COUNTS.values(), *RULES.values(), *SEARCH_FLAGS.values()):
        assert MEASURES[measure.key] is measure
    assert [share.measure for share in measures.SHARES] == [
        FIGURE_COUNTS[key] for key in ("no_visit", "instant", "at_most_one_visit",
                                       "online_capable", "fully_online")
    ]  # fmt: skip


def test_the_readers_hold_the_tables_objects():
    # the SQL figures
    assert all(figures.POLICY_PREDICATES[rule] is RULES[rule].sql for rule in PolicyRule)
    assert list(figures.POLICY_PREDICATES) == list(RULES)
    assert all(figures.MISSING_PREDICATES[key] is MISSING[key].sql for key in MISSING)
    assert figures.INCOMPLETE is measures.INCOMPLETE.sql
    # the ratio engine
    assert ratios.FIGURE_COUNTS is FIGURE_COUNTS and ratios.RULES is RULES
    assert ratios.HandlingFacts is measures.HandlingFacts and ratios.PolicyRule is PolicyRule
    # the provenance lists: every one is the table's
    assert all(MEASURES[key] is measure for key, measure in report_measures.MEASURES.items())
    # the search frame's flags, in its bit order
    assert frame.SEARCH_FLAGS is SEARCH_FLAGS and tuple(SEARCH_FLAGS) == frame.FLAGS
    # the report's shares and definitions
    from catalog.report import DEFINITIONS, SHARES

    assert [key for key, _label, _attribute in SHARES] == [s.key for s in measures.SHARES]
    assert all(DEFINITIONS[share.key] == share.definition for share in measures.SHARES)


def test_the_engines_count_whatever_the_table_says(db, monkeypatch):
    """Change a measure in the table, and both the ratio engine and the SQL figures follow."""
    insert_varied_catalog(db)
    for item in db.session.scalars(sa.select(ApprovalItem)):
        item.status = Status.published
        item.item_type = ItemType.licence
        for handling in item.handling_items:
            handling.status = Status.published
    db.session.flush()
    everything = Measure("no_visit", "全部", lambda fact: True, sa.true())
    monkeypatch.setitem(FIGURE_COUNTS, "no_visit", everything)
    facts = figures.in_scope_facts()
    assert figures_from_facts([], facts).no_visit == len(facts)
    (totals,) = db.session.execute(figures.handling_totals()).all()
    assert totals[1 + list(FIGURE_COUNTS).index("no_visit")] == totals[0] == len(facts)


# Tests a reader would write if it defined a measure again instead of reading the table.
DEFINITIONS_ELSEWHERE = re.compile(
    r"visits\s*(==|<=|>=|<|>)\s*\d"
    r"|online_depth\s*>="
    r"|case_type\s*[!=]=\s*CaseType"
    r"|== CaseType\.instant"
    r"|_blank_text\(|_none_of\(|_empty_list\("
    r"|charges_fee\s*(is|==)"
    r"|not fee\b"
)
READERS = [
    "catalog/ratios.py",
    "catalog/figures.py",
    "catalog/report.py",
    "catalog/reports/measures.py",
    "catalog/reports/document.py",
    "catalog/search/frame.py",
    "catalog/search/delta.py",
]


@pytest.mark.parametrize("path", READERS)
def test_no_reader_defines_a_measure_again(path):
    source = (Path(__file__).parent.parent / path).read_text(encoding="utf-8")
    assert [match.group(0) for match in DEFINITIONS_ELSEWHERE.finditer(source)] == []
