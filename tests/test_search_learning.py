"""Search learning below the pages: failed searches counted with nothing personal, bounded and
purged; the synonym list validated, audited, seeded once and used by the next search at once;
on both databases."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from catalog.domain import Conflict, Invalid
from catalog.models import AuditEvent, FailedQuery, Synonym
from catalog.operations.synonyms import (
    add_synonym,
    change_synonym,
    delete_synonym,
    replace_synonyms,
    seed_synonyms,
)
from catalog.public.queries import app_synonyms, run_search
from catalog.search.failed import (
    failed_text,
    most_failed,
    purge_failed_queries,
    record_failed_query,
)
from catalog.templating import display_today as today
from tests.conftest import PROJECT_ROOT
from tests.factories import publish_taxi_and_port


@pytest.fixture
def catalog(db):
    publish_taxi_and_port(db)


def failed_rows(db) -> list[FailedQuery]:
    db.session.rollback()  # counts are written in their own transactions
    return db.session.scalars(sa.select(FailedQuery).order_by(FailedQuery.text)).all()


def test_a_search_that_finds_nothing_is_counted_as_text_and_day_only(app, db, catalog):
    for _ in range(3):
        result, error = run_search("  Ｗｏ要开飞机  ", {})
        assert error is None and result.total == 0
    rows = failed_rows(db)
    assert [(row.text, row.day, row.count) for row in rows] == [("wo要开飞机", today(), 3)]
    # nothing else is stored: no address, account, browser or time of day
    assert {c.name for c in FailedQuery.__table__.columns} == {"text", "day", "count"}


def test_only_a_first_page_without_filters_that_finds_nothing_counts(app, db, catalog):
    assert run_search("港口", {})[0].total == 1
    assert run_search("港口", {"instant": "1"})[0].total == 0  # narrowed by a filter
    assert run_search("", {})[0].total == 2
    assert run_search("x" * 101, {})[1]  # refused, not searched
    assert failed_rows(db) == []


def test_the_stored_text_is_cut(app, db):
    assert record_failed_query("飞" * 99)
    assert failed_text("飞" * 99) == "飞" * 50
    assert [row.text for row in failed_rows(db)] == ["飞" * 50]
    assert not record_failed_query("，。！")  # no word: nothing to count
    # a telephone or ID card number typed into the box is never kept, not even in part
    assert not record_failed_query("许可 13812345678")
    assert not record_failed_query("41100219800101123X 证明")
    assert [row.text for row in failed_rows(db)] == ["飞" * 50]


def test_the_table_keeps_at_most_its_rows_the_oldest_least_counted_going(app, db):
    app.config["FAILED_QUERY_MAX_ROWS"] = 3
    try:
        old = today() - timedelta(days=2)
        db.session.add_all([FailedQuery(text="旧少", day=old, count=1),
                            FailedQuery(text="旧多", day=old, count=9)])  # fmt: skip
        db.session.commit()
        for text in ("新甲", "新乙", "新丙"):
            record_failed_query(text)
        texts = {row.text for row in failed_rows(db)}
        assert texts == {"新甲", "新乙", "新丙"}
        record_failed_query("新甲")  # a repeat adds no row and drops none
        assert len(failed_rows(db)) == 3
    finally:
        app.config["FAILED_QUERY_MAX_ROWS"] = 10_000


def test_days_past_the_retention_are_purged(app, db):
    retention = app.config["FAILED_QUERY_RETENTION_DAYS"]
    db.session.add_all([
        FailedQuery(text="过期", day=today() - timedelta(days=retention + 1), count=5),
        FailedQuery(text="保留", day=today() - timedelta(days=retention), count=5),
    ])  # fmt: skip
    db.session.commit()
    record_failed_query("新的")  # a new row purges on the way
    assert {row.text for row in failed_rows(db)} == {"保留", "新的"}
    db.session.add(FailedQuery(text="又过期", day=today() - timedelta(days=retention + 5)))
    db.session.commit()
    assert purge_failed_queries() == 1


def test_a_database_refusal_never_fails_the_search(app, db, catalog, monkeypatch):
    import catalog.search.failed as failed

    def broken(*_args):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(failed, "_upsert", broken)
    result, error = run_search("飞机", {})
    assert error is None and result.total == 0


@pytest.fixture
def held(app, monkeypatch):
    """Counts held by the worker as in production (the tests' apps write each at once)."""
    from catalog.search import failed

    monkeypatch.setitem(app.config, "FAILED_QUERY_WRITE_SECONDS", 3600)
    failed.pending.take()
    yield failed
    failed.pending.take()  # nothing left for another test's app


def test_held_counts_are_written_after_the_response_once_due(app, db, catalog, held, client):
    for _ in range(2):
        assert client.get("/items?q=飞机").status_code == 200
    assert client.get("/items?q=火车").status_code == 200
    assert failed_rows(db) == []  # held by the worker, the searches answered without a write
    assert held.pending.counts == {("飞机", today()): 2, ("火车", today()): 1}

    app.config["FAILED_QUERY_WRITE_SECONDS"] = 0.001  # due: the next failed search writes all
    response = client.get("/items?q=飞机")
    assert response.status_code == 200 and "飞机" in response.get_data(as_text=True)
    assert failed_rows(db) == []  # the response is whole before anything is written
    response.close()  # what the server does once it has sent it
    rows = failed_rows(db)
    assert [(row.text, row.count) for row in rows] == [("火车", 1), ("飞机", 3)]
    assert not held.pending.counts


def test_held_counts_add_to_the_stored_ones_and_a_full_buffer_is_written(app, db, held,
                                                                          monkeypatch):  # fmt: skip
    db.session.add(FailedQuery(text="甲", day=today(), count=4))
    db.session.commit()
    monkeypatch.setattr(held, "MAX_PENDING", 3)
    for text in ("甲", "乙", "甲"):
        assert record_failed_query(text)
    assert [(row.text, row.count) for row in failed_rows(db)] == [("甲", 4)]
    assert record_failed_query("丙")  # a third distinct text: written (no request: at once)
    assert [(row.text, row.count) for row in failed_rows(db)] == [("丙", 1), ("乙", 1),
                                                                  ("甲", 6)]  # fmt: skip


WORKER = """
import sys
from catalog import create_app
from catalog.search.failed import pending, record_failed_query
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "exit-test",
                  "FAILED_QUERY_WRITE_SECONDS": 3600})
with app.app_context():
    assert record_failed_query("出口") and pending.counts
"""  # then the interpreter exits normally, as a worker gunicorn stops or recycles does


def test_held_counts_are_written_when_the_worker_exits(app, db, database_url):
    done = subprocess.run([sys.executable, "-c", WORKER, database_url], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [(row.text, row.count) for row in failed_rows(db)] == [("出口", 1)]


def test_held_counts_stay_bounded_while_a_write_is_on_its_way(app, db, held, monkeypatch):
    monkeypatch.setattr(held, "MAX_PENDING", 2)
    held.pending.due = True  # a write arranged, not yet run
    for text in ("甲", "乙", "丙", "丁", "戊", "甲"):
        assert record_failed_query(text)
    assert held.pending.counts == {("甲", today()): 2, ("乙", today()): 1, ("丙", today()): 1,
                                   ("丁", today()): 1}  # fmt: skip


def test_a_refused_write_of_held_counts_drops_them_and_never_fails(app, db, catalog, held,
                                                                   monkeypatch):  # fmt: skip
    def broken(*_args):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(held, "_upsert", broken)
    assert record_failed_query("飞机")
    assert held.write_pending() is False
    assert not held.pending.counts and failed_rows(db) == []


def test_most_failed_sums_the_period(app, db):
    db.session.add_all([
        FailedQuery(text="甲", day=today(), count=2),
        FailedQuery(text="甲", day=today() - timedelta(days=3), count=5),
        FailedQuery(text="乙", day=today() - timedelta(days=20), count=50),
    ])  # fmt: skip
    db.session.commit()
    assert [(t, c) for t, c, _last in most_failed(7)] == [("甲", 7)]
    assert [(t, c) for t, c, _last in most_failed(30)] == [("乙", 50), ("甲", 7)]


def test_a_synonym_added_is_used_by_the_next_search_and_audited(app, db, catalog):
    assert run_search("约车", {})[0].total == 0
    add_synonym("约车", "网络预约出租汽车", actor="editor1", reason="群众常搜")
    db.session.commit()
    assert [h.item.code for h in run_search("约车", {})[0].hits] == ["NET"]
    assert [h.item.code for h in run_search("yc", {})[0].hits] == ["NET"]  # its initials
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "synonym"))
    assert (event.actor, event.action.value, event.reason) == ("editor1", "create", "群众常搜")
    assert event.changes == {"term": [None, "约车"], "target": [None, "网络预约出租汽车"]}


def test_a_change_and_a_deletion_take_effect_at_once(app, db, catalog):
    synonym = add_synonym("坐船", "港口", actor="editor1")
    db.session.commit()
    assert app_synonyms().expand("坐船") == ("坐船", "港口")
    change_synonym(synonym, "码头", "港口", version=synonym.version, actor="editor1")
    db.session.commit()
    assert "坐船" not in app_synonyms().words
    assert run_search("码头", {})[0].total == 1
    delete_synonym(synonym, version=synonym.version, actor="editor1", reason="不再需要")
    db.session.commit()
    assert run_search("码头", {})[0].total == 0
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "synonym")
        .order_by(AuditEvent.id)
    ).all()  # fmt: skip
    assert [a.value for a in actions] == ["create", "change", "retire"]


def test_a_stale_version_is_refused(app, db, catalog):
    synonym = add_synonym("坐船", "港口", actor="editor1")
    db.session.commit()
    seen = synonym.version
    change_synonym(synonym, "码头", "港口", version=seen, actor="editor2")
    db.session.commit()
    with pytest.raises(Conflict):
        change_synonym(synonym, "渡口", "港口", version=seen, actor="editor1")
    with pytest.raises(Conflict):
        delete_synonym(synonym, version=seen, actor="editor1")


@pytest.mark.parametrize(
    ("term", "target", "field", "message"),
    [
        ("", "港口", "term", "请填写搜索词"),
        ("码头", " ", "target", "请填写对应的词"),
        ("码" * 21, "港口", "term", "不能超过 20 个字符"),
        ("码头", "港" * 51, "target", "不能超过 50 个字符"),
        ("坐 船", "港口", "term", "须是一个词"),
        ("码头", "码头", "target", "相同"),
        ("码头", "飞机场", "target", "目录中找不到"),
        ("码头", "港口\x00", "target", "控制字符"),
    ],
)
def test_a_bad_synonym_is_refused_by_name(app, db, catalog, term, target, field, message):
    with pytest.raises(Invalid) as refused:
        add_synonym(term, target, actor="editor1")
    assert message in " ".join(refused.value.errors[field])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Synonym)) == 0


def test_duplicates_and_cycles_are_refused(app, db, catalog):
    add_synonym("港口", "经营许可", actor="editor1")
    with pytest.raises(Invalid, match="已存在"):
        add_synonym("港口", "经营许可", actor="editor1")
    with pytest.raises(Invalid, match="循环"):
        add_synonym("经营许可", "港口", actor="editor1")


def test_the_seed_list_is_loaded_once_and_never_again(app, db):
    path = PROJECT_ROOT / "seed" / "synonyms.yaml"
    added = seed_synonyms(path)
    assert added == db.session.scalar(sa.select(sa.func.count()).select_from(Synonym)) > 20
    assert ("网约车", "网络预约出租汽车") in {
        (s.term, s.target) for s in db.session.scalars(sa.select(Synonym))
    }
    db.session.commit()
    assert "网络预约出租汽车" in app_synonyms().expand("wyc")
    assert seed_synonyms(path) == 0  # a re-run
    for synonym in db.session.scalars(sa.select(Synonym)).all():
        delete_synonym(synonym, version=synonym.version, actor="editor1")
    assert seed_synonyms(path) == 0  # staff emptied the list: the seed does not come back


def test_replacing_the_list_is_all_or_nothing(app, db, catalog):
    add_synonym("码头", "港口", actor="editor1")
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        replace_synonyms([(2, "约车", "网络预约"), (3, "坐船", "飞机场")], actor="editor1",
                         source="x.csv")  # fmt: skip
    assert list(refused.value.errors.values()) == [
        ["第 3 行：目录中找不到“飞机场”：对应的词须是已有的事项名称或其中的词。"]
    ]
    db.session.rollback()
    assert [(s.term, s.target) for s in db.session.scalars(sa.select(Synonym))] == [
        ("码头", "港口")
    ]
    plan = replace_synonyms([(2, "约车", "网络预约")], actor="editor1", source="x.csv")
    db.session.commit()
    assert (plan.added, plan.removed) == ([("约车", "网络预约")], [("码头", "港口")])
    assert run_search("约车", {})[0].total == 1 and run_search("码头", {})[0].total == 0
