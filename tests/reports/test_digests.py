"""Each published item's data digest kept with the catalog (catalog.reports.digests): the live
side of a comparison reads it instead of every item's rows, and it stays what the rows give."""

from __future__ import annotations

from flask_migrate import upgrade

from catalog.attachments import store
from catalog.extensions import db as _db
from catalog.models import report_sums_state
from catalog.reports import aggregates, digests, snapshots
from catalog.revision import current_stamp
from tests import attachment_files as files
from tests.factories import edit_published, handling_item_data, item_data, publish, published_item
from tests.migrations import app_migrated_to


def kept(db) -> dict[str, str]:
    """The kept digests by code, after checking they are those of the rows."""
    db.session.rollback()  # what is committed
    index = digests.kept_index(current_stamp())
    assert index and index == digests.computed_index()
    return {code: digest for code, _name, digest, _where in index}


def changes(client, query: str = "from=2020") -> dict[str, list[str]]:
    response = client.get(f"/api/v1/report/compare?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {entry["code"]: [change["field"] for change in entry["changes"]]
            for entry in response.get_json()["items"]["changed"]}  # fmt: skip


def test_the_live_side_of_a_comparison_is_read_from_the_kept_digests(seeded, db, client,
                                                                   monkeypatch):  # fmt: skip
    before = kept(db)
    assert len(before) == 190  # every published item of the seed
    edit_published(db, "XCJT-01-100", lambda d: d.update(name=d["name"] + "（修订）"))
    after = kept(db)
    assert {code for code in before if before[code] != after[code]} == {"XCJT-01-100"}

    read = []  # the items the comparison reads from the catalog's rows: only the changed one

    def chunks(size=1_000, codes=None, connection=None):
        read.append(None if codes is None else sorted(codes))
        return published_chunks(size, codes=codes, connection=connection)

    published_chunks = snapshots.published_chunks
    monkeypatch.setattr(snapshots, "published_chunks", chunks)
    assert changes(client) == {"XCJT-01-100": ["name"]}
    assert read == [["XCJT-01-100"]]


def test_without_kept_digests_the_comparison_reads_the_rows(seeded, db, client, cli):
    edit_published(db, "XCJT-01-100", lambda d: d["handling_items"][0].update(promised_days=0))
    db.session.execute(report_sums_state.delete())  # as after migration 0028 on a catalog
    db.session.commit()
    assert digests.kept_index(current_stamp()) == []
    from_rows = changes(client)
    assert list(from_rows) == ["XCJT-01-100"]
    assert all("promised_days" in field for field in from_rows["XCJT-01-100"])
    rebuilt = cli.invoke(args=["report-sums", "rebuild", "--if-stale"])
    assert rebuilt.exit_code == 0, rebuilt.output
    kept(db)
    assert changes(client) == from_rows  # (a new revision: computed again, from the table)


def test_a_change_of_files_alone_changes_the_items_digest(seeded, db, client):
    before = kept(db)
    stamp = current_stamp()
    blob = store(files.pdf("空白表格"))

    def add_file(data):
        material = data["handling_items"][0]["materials"][0]
        material["attachments"] = [{"kind": "blank", "sha256": blob.sha256,
                                    "filename": "申请表.pdf"}]  # fmt: skip

    edit_published(db, "XCJT-01-100", add_file)
    assert current_stamp() != stamp  # a new revision: the caches of the old are not read
    after = kept(db)
    assert {code for code in before if before[code] != after[code]} == {"XCJT-01-100"}
    assert "XCJT-01-100" in changes(client)


def test_unpublished_items_leave_the_kept_index(seeded, db, client):
    from catalog.operations.items import retire_item

    retire_item(published_item(db, "XCJT-01-100"), actor="tester", reason="测试")
    db.session.commit()
    assert "XCJT-01-100" not in kept(db)
    response = client.get("/api/v1/report/compare?from=2020")
    removed = [entry["code"] for entry in response.get_json()["items"]["removed"]]
    assert removed == ["XCJT-01-100"]


# (the shared migration fixture: the engine is disposed and the database dropped whether the
# test passes or fails midway)
before_0028 = app_migrated_to("0026")  # the schema before 0028
at_head = app_migrated_to("head")


def test_migration_0028_leaves_the_digests_to_be_built_on_a_catalog_with_items(before_0028):
    publish(_db, item_data(handling_item_data(code="A-01"), code="A", name="甲事项"))
    assert aggregates.state(_db.session.connection()) == current_stamp()
    _db.session.remove()
    upgrade()  # 0028: the digests are not there, so the sums are no longer right
    assert aggregates.state(_db.session.connection()) is None
    assert digests.kept_index(current_stamp()) == []
    _db.session.remove()
    built = before_0028.test_cli_runner().invoke(args=["report-sums", "rebuild", "--if-stale"])
    assert built.exit_code == 0, built.output
    assert [entry[:2] for entry in digests.kept_index(current_stamp())] == [("A", "甲事项")]
    assert digests.kept_index(current_stamp()) == digests.computed_index()


def test_migration_0028_on_an_empty_catalog_keeps_its_sums_right(at_head):
    state = aggregates.state(_db.session.connection())
    assert state is not None and state == current_stamp()
