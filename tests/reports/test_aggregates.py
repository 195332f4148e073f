"""The report's sums kept current by every change (catalog.reports.aggregates): after each kind
of change the report read from them equals the report computed from the rows."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from catalog.drafts import published_data
from catalog.extensions import db as _db
from catalog.importing import parse_rows, plan_import, read_file
from catalog.models import ApprovalItem, HandlingItem, report_sums_state
from catalog.operations.imports import apply_import
from catalog.operations.items import retire_handling_item, retire_item
from catalog.province import generate_province
from catalog.reports import aggregates, digests
from catalog.reports.document import build_report, live_report, scanned_report
from catalog.reports.rows import fingerprint_v2, live_handling_rows, live_items
from catalog.revision import current_stamp
from catalog.services import update_item
from catalog.spreadsheets import export_data, to_xlsx
from tests.factories import edit_published, handling_item_data, item_data, publish, published_item


def without_time(document):
    return {key: value for key, value in document.items() if key != "generated_at"}


def assert_sums_right(db) -> dict:
    """The sums are at the current revision, and the report made of them is the report of the
    rows, computed both ways from scratch."""
    db.session.rollback()  # a fresh transaction: what is committed
    assert aggregates.state(db.session.connection()) == current_stamp()
    kept = live_report()
    assert without_time(kept) == without_time(scanned_report())
    rows = live_items(), live_handling_rows()
    assert without_time(kept) == without_time(build_report(*rows))
    assert kept["fingerprint"] == fingerprint_v2(*rows)
    # and each published item's data digest (catalog.reports.digests), kept with the sums
    assert digests.kept_index(current_stamp()) == digests.computed_index()
    return kept


def test_every_kind_of_change_leaves_the_sums_right(seeded, db):
    before = assert_sums_right(db)  # the seed
    edit_published(db, "XCJT-01-100", lambda d: d["handling_items"][0].update(promised_days=0))
    edited = assert_sums_right(db)
    assert edited["fingerprint"] != before["fingerprint"]
    publish(db, item_data(handling_item_data(code="Z-01", statutory_days=None, promised_days=12,
                                             visits=2, visit_reason=None),
                          code="Z", handling_unit="新设科室", type="other"))  # fmt: skip
    assert "新设科室" in {g["key"] for g in assert_sums_right(db)["breakdowns"]["by_unit"]}
    edit_published(db, "Z", lambda d: d.update(handling_unit="改名后的科室"))  # the unit renamed
    units = {g["key"] for g in assert_sums_right(db)["breakdowns"]["by_unit"]}
    assert "改名后的科室" in units and "新设科室" not in units
    edit_published(db, "Z", lambda d: d.update(handling_unit=None))  # to the group 暂未提供
    assert_sums_right(db)
    edit_published(db, "Z", lambda d: d.update(type="licence"))  # to another type
    assert_sums_right(db)
    edit_published(db, "Z", lambda d: d["handling_items"].append(handling_item_data(code="Z-02")))
    assert_sums_right(db)
    edit_published(
        db, "Z", lambda d: d.update(handling_items=d["handling_items"][1:])
    )  # one deleted
    assert_sums_right(db)
    retire_handling_item(published_item(db, "Z").handling_items[0], actor="tester", reason="测试")
    db.session.commit()
    assert_sums_right(db)
    retire_item(published_item(db, "XCJT-01-100"), actor="tester", reason="测试")
    db.session.commit()
    assert assert_sums_right(db)["items"]["total"] == before["items"]["total"]  # Z in, one out


def test_deleting_an_item_and_writing_past_the_unit_of_work(seeded, db):
    db.session.delete(published_item(db, "XCJT-01-100"))
    db.session.commit()
    assert_sums_right(db)
    # an UPDATE the unit of work does not see: the sums are built again at the commit
    db.session.execute(sa.update(HandlingItem).values(promised_days=1).where(
        HandlingItem.code.like("XCJT-02-%")))  # fmt: skip
    db.session.commit()
    assert_sums_right(db)


def test_a_rolled_back_change_leaves_the_sums_as_they_were(seeded, db):
    connection = db.session.connection()
    sums = db.session.execute(sa.select(aggregates.report_group_sums)).all()
    found = published_item(db, "XCJT-01-100")
    data = published_data(found)
    data["handling_items"][0]["promised_days"] = 0
    update_item(found, data, actor="tester", reason="测试")
    db.session.flush()
    assert without_time(live_report()) == without_time(scanned_report())  # its own, uncommitted
    db.session.rollback()
    connection = db.session.connection()
    assert db.session.execute(sa.select(aggregates.report_group_sums)).all() == sums
    assert aggregates.state(connection) == current_stamp()
    assert_sums_right(db)


def plan_for(filename: str, content: bytes):
    return plan_import(parse_rows(*read_file(filename, content, None)))


def test_an_import_applied_leaves_the_sums_right(seeded, db):
    exported = export_data()
    for entry in exported[:3]:
        for handling in entry["handling_items"]:
            if handling.get("case_type") != "instant":
                handling["promised_days"] = 1
    plan = plan_for("catalog.xlsx", to_xlsx(exported))
    assert plan.changed
    apply_import(plan, actor="cli", source="catalog.xlsx", publish=True)
    db.session.commit()
    assert_sums_right(db)


def test_a_generated_province_and_sums_left_behind(db, seed_dir, cli):
    generate_province(500, seed_dir=seed_dir, seed=3)  # Core inserts: built wholesale
    db.session.commit()
    assert_sums_right(db)
    db.session.execute(report_sums_state.delete())  # as after the migration that adds them
    db.session.commit()
    kept = live_report()  # computed from the rows meanwhile
    assert without_time(kept) == without_time(scanned_report())
    assert cli.invoke(args=["report-sums", "check"]).exit_code != 0
    result = cli.invoke(args=["report-sums", "rebuild", "--if-stale"])  # as after db upgrade
    assert result.exit_code == 0 and "报告汇总已重建" in result.output, result.output
    assert cli.invoke(args=["report-sums", "check"]).exit_code == 0
    assert_sums_right(db)
    stamp = aggregates.state(db.session.connection())
    db.session.rollback()
    again = cli.invoke(args=["report-sums", "rebuild", "--if-stale"])  # current: nothing to do
    assert again.exit_code == 0 and "无需重建" in again.output, again.output
    assert aggregates.state(db.session.connection()) == stamp  # not rebuilt: same revision
    forced = cli.invoke(args=["report-sums", "rebuild"])  # without it: always, a new revision
    assert forced.exit_code == 0 and "报告汇总已重建" in forced.output, forced.output
    db.session.rollback()
    assert aggregates.state(db.session.connection()) != stamp
    assert_sums_right(db)


def test_two_publishes_at_the_same_moment_leave_the_sums_right(seeded, db, app):
    """Two sessions (as two workers) commit edits of two items of one group at once."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time: nothing can interleave")
    codes = list(
        db.session.scalars(
            sa.select(ApprovalItem.code)
            .where(ApprovalItem.item_type == "licence")
            .order_by(ApprovalItem.code)
            .limit(2)
        )
    )
    db.session.rollback()
    ready = threading.Barrier(2)
    errors: list[BaseException] = []

    def publish_edit(code: str) -> None:
        try:
            with app.app_context():
                found = published_item(_db, code)
                data = published_data(found)
                data["name"] += "（改）"
                update_item(found, data, actor="tester", reason="测试")
                _db.session.flush()
                ready.wait(timeout=30)
                _db.session.commit()
                _db.session.remove()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=publish_edit, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    names = {published_item(db, code).name for code in codes}
    assert all(name.endswith("（改）") for name in names)
    assert_sums_right(db)


def test_the_sums_have_a_column_for_every_element_in_order():
    from catalog.elements import ELEMENTS
    from catalog.figures import MISSING_PREDICATES
    from catalog.models.report_sums import ELEMENT_COLUMNS

    keys = [element.key for element in ELEMENTS]
    assert list(MISSING_PREDICATES) == keys
    assert list(ELEMENT_COLUMNS) == [key.replace(".", "_") for key in keys]
