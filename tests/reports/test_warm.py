"""A gunicorn worker's warming at start (catalog.reports.warm, run from wsgi.py before the
worker's first request): the statements of a comparison's first request are compiled before it
comes, nothing is written or kept, a database not migrated yet is left alone, and a lock held
by a migration holds the worker's start back for a bounded time only."""

from __future__ import annotations

import logging
import sqlite3
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine.interfaces import CacheStats

from catalog.extensions import db as _db
from catalog.models import Snapshot
from catalog.reports import warm
from catalog.reports.snapshots import list_snapshots
from tests.conftest import make_app


@pytest.fixture
def fresh_app(app, database_url):
    """Another app on the same database: a worker's own engine, nothing compiled yet."""
    fresh = make_app(database_url)
    yield fresh
    with fresh.app_context():
        _db.engine.dispose()


def _compiled_on_first_use(app, path: str) -> list[str]:
    """The statements a request to `path` had to compile (not found in the engine's cache)."""
    missed = []
    with app.app_context():
        engine = _db.engine

    def note(_conn, _cursor, statement, _params, context, _many):
        if getattr(context, "cache_hit", None) == CacheStats.CACHE_MISS:
            missed.append(statement)

    event.listen(engine, "after_cursor_execute", note)
    try:
        assert app.test_client().get(path).status_code == 200
    finally:
        event.remove(engine, "after_cursor_execute", note)
    return missed


def test_a_warmed_worker_compiles_nothing_for_its_first_comparison(seeded, app, db, fresh_app):
    label = list_snapshots()[0].label
    # another worker has stored the revision's report already (as after any first request)
    assert app.test_client().get(f"/reports/compare?from={label}").status_code == 200
    assert warm.warm_statements(fresh_app)
    assert _compiled_on_first_use(fresh_app, f"/reports/compare?from={label}") == []


def test_a_cold_worker_compiles_its_first_comparisons_statements(seeded, app, db, fresh_app):
    """(what the warming saves: the test above would pass without it otherwise)"""
    label = list_snapshots()[0].label
    assert app.test_client().get(f"/reports/compare?from={label}").status_code == 200
    assert _compiled_on_first_use(fresh_app, f"/reports/compare?from={label}")


def test_warming_writes_and_keeps_nothing(seeded, db, fresh_app):
    def rows():
        return [db.session.scalar(sa.select(sa.func.count()).select_from(table))
                for table in _db.metadata.sorted_tables]  # fmt: skip

    before = rows()
    assert warm.warm_statements(fresh_app)
    db.session.rollback()
    assert rows() == before
    with fresh_app.app_context():  # the worker's session ended, no snapshot left in it
        assert not any(isinstance(obj, Snapshot) for obj in _db.session.identity_map.values())


def test_a_database_not_migrated_yet_is_left_alone(tmp_path):
    empty = make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert not warm.warm_statements(empty)
    with empty.app_context():
        assert sa.inspect(_db.engine).get_table_names() == []
        _db.engine.dispose()


def test_a_failure_is_logged_and_the_worker_serves_all_the_same(
    seeded, db, fresh_app, monkeypatch, caplog
):
    def broken(_stamp):
        raise sa.exc.OperationalError("SELECT", {}, Exception("the database went away"))

    monkeypatch.setattr("catalog.reports.digests.kept_index", broken)
    with caplog.at_level(logging.WARNING, logger="catalog.reports"):
        assert not warm.warm_statements(fresh_app)
    assert "warming the report statements failed" in caplog.text
    label = list_snapshots()[0].label
    assert fresh_app.test_client().get(f"/reports/compare?from={label}").status_code == 200


def test_only_a_gunicorn_worker_warms_up(monkeypatch):
    """(a flask command imports wsgi.py too, and may be the one that migrates the database)"""
    monkeypatch.delenv("SERVER_SOFTWARE", raising=False)
    assert not warm.served_by_gunicorn()
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    assert warm.served_by_gunicorn()


def test_a_lock_held_by_a_migration_holds_the_start_back_a_bounded_time(
    seeded, db, fresh_app, database_url, caplog
):
    """A worker starting while a migration holds a table warms up what it can and starts: on
    PostgreSQL a warming statement waits at most warm.LOCK_WAIT (2 s) for the lock, on SQLite
    the database's lock timeout (5 s); the lock is released only after 20 s, so a warming that
    waited for it would succeed instead."""
    release = threading.Event()
    held = threading.Event()
    db.session.rollback()
    postgresql = db.engine.dialect.name == "postgresql"

    def migration():
        if postgresql:
            engine = sa.create_engine(database_url)
            with engine.connect() as connection:
                connection.exec_driver_sql("LOCK TABLE report_snapshot IN ACCESS EXCLUSIVE MODE")
                held.set()
                release.wait(20)
                connection.rollback()
            engine.dispose()
        else:
            holder = sqlite3.connect(sa.make_url(database_url).database, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            held.set()
            release.wait(20)
            holder.execute("ROLLBACK")
            holder.close()

    holder = threading.Thread(target=migration)
    holder.start()
    try:
        assert held.wait(10)
        with caplog.at_level(logging.WARNING, logger="catalog.reports"):
            assert not warm.warm_statements(fresh_app)
        assert holder.is_alive()  # (the lock was still held when the warming gave up)
    finally:
        release.set()
        holder.join()
    assert "warming the report statements failed" in caplog.text
