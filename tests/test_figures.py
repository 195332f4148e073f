"""The SQL aggregates give exactly what the pure Python reference gives, on any catalog."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import figures
from catalog.enums import REPORTED_TYPES, CaseType, ItemType, Status
from catalog.models import ApprovalItem, HandlingItem
from catalog.ratios import HandlingFacts, figures_from_facts, policy_exceptions
from catalog.services import create_item
from tests.factories import handling_item_data, item_data, publish_rows


@st.composite
def handling_rows(draw):
    case_type = draw(st.sampled_from(CaseType))
    statutory = draw(st.one_of(st.none(), st.integers(0, 60)))
    promised = draw(st.integers(0, statutory if statutory is not None else 30))
    visits = draw(st.integers(0, 2))
    # the database refuses a visit without a reason and an instant item with promised days
    # (CHECK constraints, migration 0014): the engine never meets them in the rows
    if case_type == CaseType.instant:
        promised = 0
    return {
        "case_type": case_type,
        "statutory_days": statutory,
        "promised_days": promised,
        "visits": visits,
        "visit_reason": "需核验原件" if visits else draw(st.sampled_from([None, "", "需核验原件"])),
        "online_depth": draw(st.integers(1, 7)),
        "status": draw(st.sampled_from(Status)),
    }


catalogs = st.lists(
    st.tuples(
        st.sampled_from(ItemType),
        st.sampled_from(Status),
        st.lists(handling_rows(), max_size=4),
    ),
    max_size=12,
)


def insert_catalog(db, catalog) -> None:
    """Insert rows directly, bypassing the services on purpose: the engine must also count
    unpublished and retired rows, and rows that break the policy rules the database allows
    (over 10 promised days, compression under 75 %), the way the reference does."""
    for number, (item_type, status, rows) in enumerate(catalog):
        item = ApprovalItem(
            code=f"P-{number}",
            name=f"事项{number}",
            item_type=item_type,
            implementing_body="许昌市交通运输局",
            handling_unit="科室",
            exercise_level="city",
            power_source="statutory",
            service_targets=["enterprise"],
            conditions="-",
            result_name="-",
            result_type="other",
            consultation="-",
            complaint="-",
            location="-",
            hours="-",
            status=status,
        )
        item.handling_items = [
            HandlingItem(code=f"P-{number}-{index}", situation="新办", charges_fee=False, **row)
            for index, row in enumerate(rows)
        ]
        db.session.add(item)
    db.session.flush()


def reference(catalog):
    """The reference inputs, filtered to the scope in plain Python."""
    in_scope = [
        (number, rows)
        for number, (item_type, status, rows) in enumerate(catalog)
        if status == Status.published and item_type in REPORTED_TYPES
    ]
    types = [catalog[number][0] for number, _rows in in_scope]
    facts = [
        HandlingFacts(
            code=f"P-{number}-{index}",
            case_type=row["case_type"],
            statutory_days=row["statutory_days"],
            promised_days=row["promised_days"],
            visits=row["visits"],
            has_visit_reason=bool(row["visit_reason"]),
            online_depth=row["online_depth"],
        )
        for number, rows in in_scope
        for index, row in enumerate(rows)
        if row["status"] == Status.published
    ]
    return types, facts


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(catalog=catalogs)
def test_sql_aggregates_equal_the_python_reference(db, catalog):
    try:
        insert_catalog(db, catalog)
        types, facts = reference(catalog)
        assert figures.catalog_figures() == figures_from_facts(types, facts)
        assert figures.policy_exceptions() == policy_exceptions(facts)
        assert sorted(figures.in_scope_facts(), key=lambda f: f.code) == sorted(
            facts, key=lambda f: f.code
        )
    finally:
        db.session.rollback()


def test_drafts_and_retired_items_are_left_out(db):
    published = create_item(item_data(code="A-1"))
    publish_rows(published)
    create_item(item_data(code="A-2"))  # stays a draft
    retired = create_item(item_data(code="A-3"))
    publish_rows(retired)
    retired.status = Status.retired
    kept = create_item(
        item_data(handling_item_data(code="A-4-01"), handling_item_data(code="A-4-02"), code="A-4")
    )
    publish_rows(kept)
    kept.handling_items[1].status = Status.retired  # one situation withdrawn
    db.session.commit()
    result = figures.catalog_figures()
    assert result.items_total == 2
    assert result.handling_items == 2
    assert sorted(f.code for f in figures.in_scope_facts()) == ["A-1-01", "A-4-01"]


def test_empty_database_gives_no_data(db):
    result = figures.catalog_figures()
    assert result.is_empty
    assert result.compression.percent is None
    assert all(codes == [] for codes in figures.policy_exceptions().values())
