"""The live report kept in the database per catalog revision: computed by the first worker
after a change, read by the others (and by a worker gunicorn has just recycled), on both
databases."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from catalog.drafts import published_data
from catalog.enums import Status
from catalog.models import ApprovalItem, StoredReport
from catalog.reports import snapshots
from catalog.reports.decisions import live_section
from catalog.reports.document import live_report
from catalog.reports.stored import stored_live_report
from catalog.revision import current_stamp
from catalog.services import create_item, update_item
from tests.factories import handling_item_data, item_data, publish
from tests.test_query_counts import counted


def another_worker() -> None:
    """What a worker that has not read the report since the last change holds: nothing."""
    snapshots._live_reports.clear()


def stored_row(db) -> StoredReport | None:
    return db.session.scalar(sa.select(StoredReport))


def test_another_worker_reads_the_stored_report_instead_of_computing_it(app, db):
    publish(db, item_data(handling_item_data(code="A-01", visits=1, visit_reason="核验原件"),
                          code="A", name="港口经营许可"))  # fmt: skip
    first = snapshots.live_source().report
    assert stored_row(db).stamp == current_stamp()
    another_worker()
    with counted(app) as statements:
        again = snapshots.live_source().report
    assert len(statements) == 2, statements  # the revision and the stored report: no aggregate
    assert again == first  # generated_at included: the same computation, not a new one
    assert again["no_visit"]["count"] == 0 and again["items"]["total"] == 1


def test_after_a_change_the_report_is_computed_again_and_replaces_the_stored_one(db):
    publish(db, item_data(code="A", name="港口经营许可"))
    before = snapshots.live_source().report
    stamp = current_stamp()
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    changed = published_data(item)
    changed["handling_items"] = [{**changed["handling_items"][0], "visits": 1,
                                  "visit_reason": "核验原件"}]  # fmt: skip
    update_item(item, changed, actor="t", reason="须到现场核验")
    db.session.commit()
    another_worker()
    after = snapshots.live_source().report
    assert (before["no_visit"]["count"], after["no_visit"]["count"]) == (1, 0)
    assert after["fingerprint"] != before["fingerprint"]
    row = stored_row(db)
    assert row.stamp == current_stamp() != stamp
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredReport)) == 1


def test_a_report_of_a_revision_no_longer_current_is_not_stored(db):
    """A change committed while the report was computed: the report may hold part of it, so it
    is served to the request that computed it but never stored under the old revision."""
    publish(db, item_data(code="A", name="港口经营许可"))
    served = stored_live_report("a-revision-that-has-passed")
    assert served["items"]["total"] == 1
    assert stored_row(db) is None
    stored_live_report(current_stamp())  # the current revision's is stored
    stored = stored_row(db)
    assert stored.stamp == current_stamp()
    stored_live_report("a-revision-that-has-passed")
    db.session.expire_all()
    assert stored_row(db).stamp == current_stamp()  # left as it was


def test_the_stored_report_is_the_computed_document_and_what_the_api_serves(client, db):
    publish(db, item_data(code="A", name="港口经营许可"),
            item_data(code="B", name="道路运输经营许可", type="confirmation"))  # fmt: skip
    served = client.get("/api/v1/report").get_json()
    another_worker()
    stored = snapshots.live_source().report
    # the API serves the stored document with the 双公示 section of the latest year (read per
    # request: decision records are not part of the catalog's revision)
    assert {**stored, "decisions": live_section(None)} == served
    computed = live_report()
    assert {**stored, "generated_at": None} == {**computed, "generated_at": None}


def test_a_report_read_before_a_change_is_committed_is_not_stored(db, caplog):
    """Inside a transaction that changed the catalog, the report shows the change under that
    transaction's own revision, which no other reader sees: it is not stored (nor tried: on
    SQLite the write would wait for the transaction's own lock, then fail), and after a
    rollback every reader gets the catalog as it is."""
    publish(db, item_data(code="A", name="港口经营许可"))
    assert snapshots.live_source().report["items"]["total"] == 1
    stamp = current_stamp()
    create_item(item_data(code="B", name="码头经营许可"), status=Status.published)
    db.session.flush()
    with caplog.at_level(logging.INFO, logger="catalog.reports"):
        assert snapshots.live_source().report["items"]["total"] == 2
    assert caplog.records == []  # no store tried and failed
    db.session.rollback()
    assert current_stamp() == stamp
    assert snapshots.live_source().report["items"]["total"] == 1
    another_worker()
    assert snapshots.live_source().report["items"]["total"] == 1
    assert stored_live_report(stamp)["items"]["total"] == 1


def test_a_report_stored_before_the_data_quality_section_is_computed_again(db):
    import orjson

    publish(db, item_data(code="A", name="港口经营许可", hours=None))
    first = snapshots.live_source().report
    counts = {entry["key"]: entry["count"] for entry in first["data_quality"]["elements"]}
    assert counts["hours"] == 1  # 办理时间, lacking on A-01's row
    old = {key: value for key, value in first.items() if key != "data_quality"}
    db.session.execute(sa.update(StoredReport).values(document=orjson.dumps(old).decode()))
    db.session.commit()
    another_worker()
    again = snapshots.live_source().report
    assert again["data_quality"] == first["data_quality"]
    assert "data_quality" in orjson.loads(stored_row(db).document)  # and stored again
