"""How many SQL statements each page costs: a fixed number, whatever the size of the catalog
(no query per hit, per handling item or per row of a list)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from catalog.extensions import db as _db
from catalog.paging import CodeCursor
from catalog.revision import revision_key
from catalog.search.delta import frame_of
from tests.factories import handling_item_data, item_data, publish


@contextmanager
def counted(app):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = _db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


# (path, most statements): the first request of a page after a change (nothing cached).
PAGES = [
    # the revision, the frame of the catalog updated in place (4: the changes, the changed
    # items' handling items, their rows, their neighbours in code order), the revision's parts
    # (once a revision: search.part_list), the word's matches anywhere and in the name (on
    # PostgreSQL one statement of its parts' postings answers both), the names it is or
    # begins, the page's hits
    ("/api/v1/items?q=港口", 10),
    ("/items?q=港口", 11),
    # (the guide: one statement more for the files offered beside the materials)
    ("/items/P1", 9),
    ("/api/v1/items/P1", 9),
    # the revision, the stored report (of an older revision), four aggregates (figures,
    # exceptions, data quality), the fingerprint (items, handling items), the report stored
    # for the other workers (the row replaced: 2), the years of 双公示 decisions (one statement;
    # with none, nothing more is read)
    ("/api/v1/report", 10),
    # the count's handling items: their sums and a page of them, not the report around them
    ("/api/v1/report/items?measure=no_visit", 2),
    ("/reports/items?measure=no_visit", 2),
    # the report's headline (the revision, two aggregates: no policy exceptions, no
    # fingerprint, which the whole report adds) and the units to browse (the frame)
    ("/", 9),
]


@pytest.mark.parametrize(("path", "most"), PAGES)
def test_a_page_costs_the_same_number_of_queries_for_3_or_30_items(app, client, db, path, most):
    costs = []
    with app.app_context():  # a worker that has served a search: its frame is updated in place
        frame_of(revision_key())
    for first, last in ((0, 3), (3, 30)):  # 3 items, then 30: each change empties the caches
        publish(db, *(
            item_data(handling_item_data(code=f"P{n}-01"), handling_item_data(code=f"P{n}-02"),
                      code=f"P{n}", name=f"港口经营许可{n}")
            for n in range(first, last)
        ))  # fmt: skip
        with counted(app) as statements:
            assert client.get(path).status_code == 200
        costs.append(len(statements))
    assert costs[0] == costs[1] <= most, costs


def test_a_repeated_search_costs_one_query_until_the_catalog_changes(app, client, db):
    publish(db, item_data(code="P1", name="港口经营许可"))
    client.get("/api/v1/items?q=港口")
    with counted(app) as statements:
        client.get("/api/v1/items?q=港口")
    # the page's rows, with the revision stamp that checks the one the search assumed
    assert len(statements) == 1 and "catalog_revision" in statements[0], statements


def test_a_search_after_a_change_it_did_not_read_finds_the_change(app, client, db):
    """The revision a search assumes is the one this process last read; a change committed
    since (here through a session that read no revision: as another worker's) is seen in the
    statement that reads the page, and the search is made again at the new revision."""
    publish(db, item_data(code="P1", name="港口经营许可"))
    first = client.get("/api/v1/items?q=港口").get_json()
    publish(db, item_data(code="P2", name="港口危险货物作业许可"))
    with counted(app) as statements:
        second = client.get("/api/v1/items?q=港口").get_json()
    assert (first["total"], second["total"]) == (1, 2)
    assert sorted(hit["code"] for hit in second["items"]) == ["P1-01", "P2-01"]
    # the assumed page (stale), then the new revision's search: its frame updated, its page
    assert 3 <= len(statements) <= 10, statements
    with counted(app) as statements:
        assert client.get("/api/v1/items?q=港口").get_json() == second
    assert len(statements) == 1, statements  # the new revision is the one assumed now


def test_a_search_that_finds_nothing_reads_no_rows(app, client, db):
    """A search with no match (the long tail people type) costs the revision stamp alone: no
    statement for a page with no rows, and no postings of a word in no entry. (The count of
    failed searches is written in a transaction of its own, at once in the tests.)"""
    publish(db, item_data(code="P1", name="港口经营许可"))
    client.get("/api/v1/items?q=港口")
    with counted(app) as statements:
        response = client.get("/api/v1/items?q=航空器")
    assert response.status_code == 200 and response.get_json()["total"] == 0
    searched = [s for s in statements if "failed_query" not in s]
    assert len(searched) == 1 and "catalog_revision" in searched[0], statements


def test_without_the_result_cache_every_search_is_computed(app, client, db, monkeypatch):
    """The matches ranked and counted again (their postings, held with the search frame,
    need no statement: catalog.search.postings)."""
    from catalog.search import query

    publish(db, item_data(code="P1", name="港口经营许可"))
    client.get("/api/v1/items?q=港口")
    computed = []
    ranked_page = query._ranked_page
    monkeypatch.setattr(
        query, "_ranked_page", lambda *a, **k: computed.append(a[1]) or ranked_page(*a, **k)
    )
    client.get("/api/v1/items?q=港口")
    assert computed == []  # the result cache served it
    query.results_cache.size = 0  # what SEARCH_RESULT_CACHE=0 sets when the app starts
    try:
        with counted(app) as statements:
            client.get("/api/v1/items?q=港口")
    finally:
        query.results_cache.size = app.config["SEARCH_RESULT_CACHE"]
    assert computed == ["港口"]
    assert len(statements) == 1, statements  # the page's rows, with the revision stamp


def test_the_result_cache_size_comes_from_the_environment(monkeypatch, tmp_path):
    from catalog import create_app
    from catalog.search import query

    monkeypatch.setenv("SEARCH_RESULT_CACHE", "0")
    try:
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})
        assert query.results_cache.size == 0
    finally:
        monkeypatch.delenv("SEARCH_RESULT_CACHE")
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert query.results_cache.size == 2048


def test_a_snapshot_costs_the_same_number_of_queries_for_3_or_30_items(app, db):
    from catalog.reports.snapshots import create_snapshot

    costs = []
    for first, last in ((0, 3), (3, 30)):
        publish(db, *(
            item_data(handling_item_data(code=f"S{n}-01", materials=[{"name": "申请表"}]),
                      handling_item_data(code=f"S{n}-02"), code=f"S{n}", name=f"港口经营许可{n}")
            for n in range(first, last)
        ))  # fmt: skip
        db.session.expunge_all()  # nothing already loaded: every item is read as a snapshot reads
        with counted(app) as statements:
            create_snapshot(f"round {last}", actor="test")
            db.session.commit()
        costs.append(len(statements))
    # the live report's queries (its aggregates and fingerprint, or the stored one), the
    # revision read twice, which optional tables are empty, and per chunk of 1,000 items one
    # query per table: 28, whether the catalog holds 3 or 30 items
    assert costs[0] == costs[1] <= 30, costs


def test_a_page_of_the_staff_item_list_costs_the_same_for_3_or_130_items(app, client, db):
    """Staff list (/staff/): the signed-in user, the page of items and their drafts (2), the
    total and where the page starts (one aggregate), which of the page's items lack an element,
    the units to filter by: 6, whether the catalog fits one page or fills three, on the first
    page and on a later one."""
    from catalog.accounts import create_user
    from catalog.operations import items as operations
    from tests.staff.conftest import PASSWORD, sign_in

    create_user("editor1", PASSWORD, "editor")
    db.session.commit()
    assert sign_in(client, "editor1").status_code == 302
    costs = []
    for first, last in ((0, 3), (3, 130)):
        publish(db, *(
            item_data(handling_item_data(code=f"P{n:03}-01", online_depth=None),
                      code=f"P{n:03}", name=f"港口经营许可{n}", handling_unit=f"科室{n % 7}")
            for n in range(first, last)
        ))  # fmt: skip
        for n in range(first, last, 2):  # and new items, each with its draft
            operations.create_item(item_data(code=f"D{n:03}"), actor="test", reason="新建")
        db.session.commit()
        later = CodeCursor("after", "D001").encode()
        for path in ("/staff/?q=0&status=unpublished", f"/staff/?cursor={later}"):
            with counted(app) as statements:
                assert client.get(path).status_code == 200
            costs.append(len(statements))
    assert costs[:2] == costs[2:] and max(costs) <= 6, costs


def test_the_compare_page_reads_the_compared_snapshot_and_the_revision_once(app, client, db):
    """The page lists the snapshots, then compares one of them: found among those listed;
    the live side's report is the one of the revision the comparison read."""
    from catalog.reports.snapshots import create_snapshot

    publish(db, item_data(handling_item_data(code="C1-01"), code="C1", name="港口经营许可"))
    create_snapshot("2020", actor="test")
    db.session.commit()
    with counted(app) as statements:
        assert client.get("/reports/compare?from=2020").status_code == 200
    snapshot_reads = [s for s in statements if s.lstrip().startswith("SELECT report_snapshot.id")]
    assert len(snapshot_reads) == 1, snapshot_reads
    revision_reads = [s for s in statements if "FROM catalog_revision" in s]
    assert len(revision_reads) == 1, revision_reads


def test_a_workers_first_comparison_costs_five_statements(app, client, db):
    """A fresh worker's first comparison of a snapshot with the catalog (the report of the
    revision stored by another worker): the snapshots with the compared one's report, the
    revision, the stored report, the snapshot's index (its chunks; the old form's item rows
    looked for only when it has none) and the live side's kept digests."""
    from catalog.reports import snapshots

    publish(db, item_data(handling_item_data(code="C1-01"), code="C1", name="港口经营许可"))
    snapshots.create_snapshot("2020", actor="test")
    publish(db, item_data(handling_item_data(code="C2-01"), code="C2", name="道路运输许可"))
    db.session.commit()
    assert client.get("/api/v1/report").status_code == 200  # another worker stored the report
    snapshots._comparisons.clear()  # this worker has kept nothing
    snapshots._live_reports.clear()
    with counted(app) as statements:
        page = client.get("/reports/compare?from=2020")
    assert page.status_code == 200 and "C2" in page.get_data(as_text=True)  # an added item
    assert len(statements) == 5, statements
    assert not any("report_snapshot_item" in s for s in statements)
    assert not any(s.lstrip().startswith("SELECT report_snapshot.report") for s in statements)
