"""The audit report on both databases: every number against the ratio engine and the SQL
aggregates, the lists behind the counts, the fingerprint, snapshots and their comparison."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa
import yaml

from catalog import figures as sql_figures
from catalog.drafts import published_data
from catalog.enums import REPORTED_TYPES
from catalog.models import ApprovalItem, Snapshot
from catalog.operations.items import retire_item
from catalog.ratios import figures_from_facts, percent
from catalog.report import SHARES, report_document
from catalog.reports.frozen import frozen_items
from catalog.reports.measures import ITEMS, MEASURES
from catalog.reports.queries import ReportInputError, provenance
from catalog.reports.rows import (
    FINGERPRINT_VERSION,
    fingerprint_of,
    fingerprint_version,
    live_fingerprint,
    live_fingerprint_v2,
    live_handling_rows,
    live_items,
    rows_from_catalog,
)
from catalog.reports.snapshots import (
    BASELINE_LABEL,
    SnapshotError,
    compare,
    create_snapshot,
    live_source,
    source,
)
from catalog.services import update_item
from tests.factories import handling_item_data, publish
from tests.factories import item_data as payload


def headline(document):
    """The parts of a report document that the ratio engine computes."""
    keys = ("items", "handling_items", *(key for key, _l, _a in SHARES), "compression",
            "policy_exceptions")  # fmt: skip
    return {key: document[key] for key in keys}


def sql_document(figures, exceptions):
    return headline(report_document(figures, exceptions))


def test_the_seed_report_gives_the_published_figures_and_equals_the_sql_aggregates(seeded, db):
    report = live_source().report
    assert (report["no_visit"]["count"], report["no_visit"]["total"]) == (181, 199)
    assert report["no_visit"]["percent"] == 90.95
    assert report["instant"]["percent"] == 52.76
    assert report["compression"]["percent"] == 87.69
    assert headline(report) == sql_document(
        sql_figures.catalog_figures(), sql_figures.policy_exceptions()
    )


@pytest.mark.parametrize(
    ("breakdown", "column"),
    [("by_type", ApprovalItem.item_type), ("by_unit", ApprovalItem.handling_unit)],
)
def test_every_breakdown_equals_its_sql_group_and_the_groups_add_up(seeded, db, breakdown, column):
    report = live_source().report
    grouped = sql_figures.grouped_figures(column)
    groups = {group["key"]: group for group in report["breakdowns"][breakdown]}
    for key, figures in grouped.items():
        expected = report_document(figures, {})
        group = groups[getattr(key, "value", key)]
        for share, _label, _attribute in SHARES:
            assert group[share] == expected[share], (key, share)
        assert group["compression"] == expected["compression"]
    for field in ("statutory_days", "promised_days"):
        assert (
            sum(g["compression"][field] for g in groups.values()) == (report["compression"][field])
        )
    assert sum(g["handling_items"]["total"] for g in groups.values()) == 199
    assert sum(g["items"]["total"] for g in groups.values()) == 190


def test_each_list_behind_a_count_has_exactly_that_many_rows(seeded, db):
    selected = live_source()
    report = selected.report
    for key, _label, _attribute in SHARES:
        listed = provenance(selected, {"measure": key})
        assert listed.total == len(listed.rows) == report[key]["count"], key
        assert all(MEASURES[key].test(row.facts) for row in listed.rows)
    visits = provenance(selected, {"measure": "visit"})
    assert visits.total == 199 - 181 == 18
    limited = provenance(selected, {"measure": "limited"})
    assert limited.total == report["compression"]["handling_items"]
    assert (limited.statutory_days, limited.promised_days) == (
        report["compression"]["statutory_days"],
        report["compression"]["promised_days"],
    )
    for rule, entry in report["policy_exceptions"].items():
        listed = provenance(selected, {"measure": rule})
        assert [row.code for row in listed.rows] == entry["handling_items"]
    for group in report["breakdowns"]["by_unit"]:
        listed = provenance(selected, {"measure": "instant", "unit": group["key"]})
        assert listed.total == group["instant"]["count"]
    for item_type in REPORTED_TYPES:
        listed = provenance(selected, {"measure": ITEMS, "type": item_type.value})
        assert listed.total == report["items"]["by_type"][item_type.value]


def test_live_lists_from_sql_equal_the_lists_from_frozen_rows(seeded, db):
    """The live catalog is listed in SQL (each measure's SQL twin), a snapshot from its frozen
    rows (each measure's Python test): on the same data, every list is the same."""
    live, frozen = live_source(), source(BASELINE_LABEL)  # the baseline: the seed, unchanged
    units = sorted({group["key"] for group in live.report["breakdowns"]["by_unit"]})
    filters = [{}, {"type": "licence"}, {"type": "confirmation"}, {"unit": units[0]},
               {"unit": units[-1], "type": "licence"}]  # fmt: skip
    for key in [ITEMS, *MEASURES]:
        for extra in filters:
            args = {"measure": key, **extra}
            ours, theirs = provenance(live, args), provenance(frozen, args)
            assert [row.code for row in ours.rows] == [row.code for row in theirs.rows], args
            assert ours.rows == theirs.rows, args
            assert (ours.total, ours.limited, ours.statutory_days, ours.promised_days) == (
                theirs.total, theirs.limited, theirs.statutory_days, theirs.promised_days
            ), args  # fmt: skip
    assert sum(provenance(live, {"measure": key}).total > 0 for key in MEASURES) >= 10


def test_bad_list_requests_name_what_is_wrong(seeded, db):
    selected = live_source()
    with pytest.raises(ReportInputError, match="measure 无效"):
        provenance(selected, {"measure": "everything"})
    with pytest.raises(ReportInputError, match=r"type 无效.*licence"):
        provenance(selected, {"measure": "all", "type": "permit"})
    with pytest.raises(ReportInputError, match="page 超出范围"):
        provenance(selected, {"measure": "all", "page": "9"})
    with pytest.raises(ReportInputError, match="page 须为正整数"):
        provenance(selected, {"measure": "all", "page": "-1"})


def seed_catalog(seed_dir):
    """The seed files as item data, read with nothing but PyYAML (all published)."""
    catalog = []
    for path in sorted((seed_dir / "items").glob("*.yaml")):
        catalog += yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    return catalog


@pytest.mark.parametrize("version", [1, 2])
def test_the_fingerprint_is_a_function_of_the_data_alone(seeded, db, seed_dir, version):
    """Equal on SQLite and PostgreSQL: both equal the fingerprint of the seed files, in each
    version (the report gives version 2, kept current by every change; version 1 is what
    snapshots made before it keep, and is recomputed from the rows)."""
    from_files = fingerprint_of(version, *rows_from_catalog(seed_catalog(seed_dir)))
    assert fingerprint_version(from_files) == version
    if version == FINGERPRINT_VERSION:
        assert live_source().report["fingerprint"] == from_files
        assert source(BASELINE_LABEL).report["fingerprint"] == from_files
    live = {1: live_fingerprint, 2: live_fingerprint_v2}[version]()
    assert live == from_files
    assert fingerprint_of(version, live_items(), live_handling_rows()) == from_files
    items, handling = rows_from_catalog(seed_catalog(seed_dir))
    reordered = fingerprint_of(version, list(reversed(items)), list(reversed(handling)))
    assert reordered == from_files
    changed = copy.deepcopy(seed_catalog(seed_dir))
    changed[0]["handling_items"][0]["promised_days"] += 1
    assert fingerprint_of(version, *rows_from_catalog(changed)) != from_files


def test_the_seed_load_creates_the_2020_baseline_once(seeded, db, seed_dir):
    from catalog.seeding import load_seed

    baseline = source(BASELINE_LABEL)
    assert baseline.snapshot.created_by == "seed"
    report = baseline.report
    assert (report["no_visit"]["percent"], report["instant"]["percent"]) == (90.95, 52.76)
    assert report["compression"]["percent"] == 87.69
    assert report["snapshot"]["label"] == BASELINE_LABEL
    assert len(list(frozen_items(baseline.snapshot))) == 190
    assert load_seed(seed_dir).snapshot is None
    assert db.session.scalar(sa.select(sa.func.count(Snapshot.id))) == 1


def edit_promised_days(db, code: str, handling_code: str, days: int) -> tuple[int, int]:
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == code))
    data = published_data(item)
    handling = next(h for h in data["handling_items"] if h["code"] == handling_code)
    old = handling["promised_days"]
    handling["promised_days"] = days
    update_item(item, data, actor="tester", reason="缩短承诺时限")
    db.session.commit()
    return old, days


def test_a_comparison_shows_the_ratio_changes_and_each_changed_field(seeded, db):
    changed = "XCJT-01-100"
    old, new = edit_promised_days(db, changed, "XCJT-01-100-01", 0)
    assert old > new
    publish(db, payload(code="XCJT-01-999", name="新增的测试事项"))
    retired = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "XCJT-01-001"))
    retire_item(retired, actor="tester", reason="取消")
    db.session.commit()
    create_snapshot("2021-06", actor="tester")
    db.session.commit()

    result = compare(source(BASELINE_LABEL), source("2021-06"))
    assert result["items"]["added"] == [{"code": "XCJT-01-999", "name": "新增的测试事项"}]
    assert result["items"]["removed"] == [{"code": "XCJT-01-001", "name": retired.name}]
    assert [entry["code"] for entry in result["items"]["changed"]] == [changed]
    assert result["items"]["changed"][0]["changes"] == [
        {"field": "handling_items.XCJT-01-100-01.promised_days", "old": old, "new": new}
    ]
    after = live_source().report
    ratios = {entry["key"]: entry for entry in result["ratios"]}
    assert ratios["compression"]["to"] == after["compression"]
    assert ratios["compression"]["change"] == pytest.approx(
        after["compression"]["percent"] - 87.69, abs=1e-9
    )
    expected = figures_from_facts(
        (row.item_type for row in source("2021-06").rows[0]),
        (row.facts for row in source("2021-06").rows[1]),
    )
    assert ratios["no_visit"]["to"]["percent"] == float(
        percent(expected.no_visit, expected.handling_items)
    )
    # The baseline did not move: a snapshot is never changed after creation.
    assert source(BASELINE_LABEL).report["compression"]["percent"] == 87.69


def test_snapshot_labels_are_checked(seeded, db):
    for label, message in [
        ("", "请填写快照名称"),
        ("x" * 51, "不能超过50个字符"),
        ("current", "不能是“current”"),
        ("bad\u200blabel", "只能包含"),
        (BASELINE_LABEL, "已有名为 2020 的快照"),
    ]:
        with pytest.raises(SnapshotError, match=message):
            create_snapshot(label, actor="tester")


def test_a_snapshot_cannot_be_changed_in_the_app_or_the_database(seeded, db, backend):
    snapshot = source(BASELINE_LABEL).snapshot
    snapshot.note = "改过"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    # (its items are chunks: report_snapshot_item, frozen the same way, holds older snapshots')
    for statement in ("UPDATE report_snapshot SET note = 'x'",
                      "UPDATE report_snapshot_chunk SET items = 0",
                      "DELETE FROM report_snapshot_chunk"):  # fmt: skip
        with pytest.raises(sa.exc.DatabaseError, match="never changed"), db.engine.begin() as c:
            c.execute(sa.text(statement))
    assert len(list(frozen_items(source(BASELINE_LABEL).snapshot))) == 190


def test_an_empty_catalog_reports_zeros_without_dividing_by_zero(db):
    report = live_source().report
    assert report["items"]["total"] == 0 and report["handling_items"]["total"] == 0
    assert report["no_visit"] == {"count": 0, "total": 0, "percent": None}
    assert report["compression"]["percent"] is None
    assert provenance(live_source(), {"measure": "all"}).total == 0
    snapshot = create_snapshot("空目录", actor="tester")
    assert snapshot.report["instant"]["percent"] is None


def test_a_hand_made_catalog_matches_the_engine_per_unit(db):
    publish(
        db,
        payload(handling_item_data(code="A-01", visits=1, visit_reason="核验"),
                handling_item_data(code="A-02", case_type="instant", promised_days=0),
                code="A", handling_unit="运输服务科"),
        payload(handling_item_data(code="B-01", statutory_days=None, promised_days=3),
                code="B", type="confirmation", handling_unit="港航海事科"),
    )  # fmt: skip
    from catalog.services import create_item

    create_item(payload(code="C", handling_unit="运输服务科"))  # a draft: not in the report
    db.session.commit()
    report = live_source().report
    units = {group["key"]: group for group in report["breakdowns"]["by_unit"]}
    assert units["运输服务科"]["no_visit"] == {"count": 1, "total": 2, "percent": 50.0}
    assert units["运输服务科"]["compression"]["statutory_days"] == 40
    assert units["运输服务科"]["compression"]["promised_days"] == 5
    assert units["港航海事科"]["compression"]["percent"] is None  # no statutory limit
    types = {group["key"]: group for group in report["breakdowns"]["by_type"]}
    assert types["reward"]["handling_items"]["total"] == 0
    assert types["reward"]["instant"]["percent"] is None


def without_time(document):
    return {key: value for key, value in document.items() if key != "generated_at"}


def test_the_sql_report_equals_the_report_of_the_rows(seeded, db):
    """The live report comes from SQL aggregates; the reference is the engine over the rows."""
    from catalog.reports.document import build_report, live_report
    from catalog.reports.rows import live_handling_rows, live_items

    assert without_time(live_report()) == without_time(
        build_report(live_items(), live_handling_rows())
    )
    publish(db, payload(handling_item_data(code="Z-01", statutory_days=None, promised_days=12),
                        code="Z", handling_unit="新设科室", type="other"))  # fmt: skip
    assert without_time(live_report()) == without_time(
        build_report(live_items(), live_handling_rows())
    )


def test_the_cached_live_report_follows_every_change(seeded, db):
    before = live_source().report
    assert live_source().report["generated_at"] == before["generated_at"]  # served from cache
    edit_promised_days(db, "XCJT-01-100", "XCJT-01-100-01", 0)
    after = live_source().report
    assert after["fingerprint"] != before["fingerprint"]
    assert after["compression"]["promised_days"] == before["compression"]["promised_days"] - 1
