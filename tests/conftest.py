"""Fixtures: every database test runs on SQLite and again on PostgreSQL.

PostgreSQL is used when TEST_DATABASE_URL is set or a server answers at 127.0.0.1:5432; each
session creates its own throw-away database there. With CI=true a missing server fails the run
instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from catalog import create_app
from catalog.extensions import db as _db

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def postgres_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL


def require_postgres() -> bool:
    return os.environ.get("CI", "").lower() == "true" or bool(os.environ.get("TEST_DATABASE_URL"))


@contextmanager
def temporary_postgres_database(prefix: str, options: str = "") -> Iterator[str]:
    """Create an empty database on the test server (with CREATE DATABASE `options`), yield
    its URL, drop it afterwards.

    Skips when no server answers, except under CI=true (or an explicit TEST_DATABASE_URL),
    where PostgreSQL is required and its absence fails the test.
    """
    server = sa.make_url(postgres_server_url())
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" {options}')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL not reachable at {server.render_as_string()}: {exc.orig}"
        if require_postgres():
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# The files that took longest in `make test` (its --durations, 2026-12-06), sent to the workers
# first. With a file to a worker at a time (--dist loadfile) the run ends when the last file
# does: pytest-xdist's default order (files with the most tests first) left the files of a few
# long tests (the page walk, the command-line and backup runs, the browsers) to the end, one
# worker busy for minutes after the other had finished (make test passes
# --no-loadscope-reorder so that this order is kept).
SLOWEST_FILES = (
    "tests/test_cli.py",
    "tests/test_backup.py",
    "tests/test_province.py",
    "tests/staff/test_signin_throttle_workers.py",
    "tests/test_every_page.py",
    "tests/decisions/test_public_seed.py",
    "tests/test_operations_stateful.py",
    "tests/staff/test_review_browser.py",
    "tests/test_search_parts.py",
    "tests/api/test_fuzz.py",
    "tests/test_bench_decisions.py",
    "tests/test_database_faults.py",
    "tests/staff/test_review_race_workers.py",
    "tests/decisions/test_seed_and_report.py",
    "tests/public/test_accessibility.py",
    "tests/reports/test_aggregates.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: place for place, path in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # (stable)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session."""
    with temporary_postgres_database("catalog_test") as url:
        yield url


def fresh_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


# Each backend's test database and migrated app, made once per session. pytest sets a session
# fixture up again whenever the backend changes from one test to the next, which under xdist
# (a file at a time, its SQLite tests, then its PostgreSQL ones) is at every file: each time a
# new SQLite database migrated from nothing, an app, and the seed loaded again.
_DATABASES: dict[str, str] = {}
_APPS: dict[str, Flask] = {}


@pytest.fixture(scope="session")
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path_factory) -> str:
    if backend not in _DATABASES:
        _DATABASES[backend] = fresh_database_url(backend, request, tmp_path_factory.mktemp(backend))
    return _DATABASES[backend]


class IsolatedClient(FlaskClient):
    """Each request gets its own app context, as in production, even while a test holds one
    open for its own database work: otherwise `g` (Flask-Login's user, Flask-WTF's token) and
    the database session would leak from one request into the next."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_app(database_url: str, **overrides) -> Flask:
    app = _create_app(database_url, **overrides)
    app.test_client_class = IsolatedClient
    return app


def _create_app(database_url: str, **overrides) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key",
            # a failed search is counted at once (tests/test_search_learning.py holds them)
            "FAILED_QUERY_WRITE_SECONDS": 0,
            **overrides,
        }
    )


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    """The app on a database migrated to the latest revision, once per backend (its
    connections closed whenever the other backend's tests come next)."""
    app = _APPS.get(database_url)
    if app is None:
        app = _APPS[database_url] = make_app(database_url)
        with app.app_context():
            upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app: Flask):
    """The database inside an app context; every row is removed after the test."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        with _db.engine.begin() as connection:
            wipe(connection)


def wipe(connection: sa.Connection) -> None:
    """Delete every row, the append-only logs and frozen snapshots included (their triggers are
    suspended for this transaction only: the app itself can never do this)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        restore = []
    else:
        restore = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'trigger' AND tbl_name IN"
            " ('audit_event', 'auth_event', 'report_snapshot', 'report_snapshot_item',"
            "  'report_snapshot_chunk')"
        ).all()
        for name, _sql in restore:
            connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    for table in reversed(_db.metadata.sorted_tables):
        connection.execute(table.delete())
    for _name, sql in restore:
        connection.exec_driver_sql(sql)


@pytest.fixture
def client(app: Flask, db):
    return app.test_client()


@pytest.fixture
def cli(app: Flask, db):
    return app.test_cli_runner()


@pytest.fixture
def seed_dir() -> Path:
    return PROJECT_ROOT / "seed"


# The rows the bureau's seed leaves in each test database, read after its first load there:
# loading the seed through the services takes 2-4 s, and some 150 tests start from it.
_SEED_ROWS: dict[str, tuple[object, list[tuple[sa.Table, list[dict]]]]] = {}


@pytest.fixture
def seeded(db, seed_dir: Path):
    """The bureau's seed loaded and committed, as `flask seed` leaves it.

    The first test of a database loads it through catalog.seeding; later tests get the same
    rows written back (the database is emptied between tests; on PostgreSQL each sequence is set
    to the restored ids, as a bulk load elsewhere may have set it back). The trigger-kept search
    tables and columns follow the rows as they follow any insert."""
    import copy

    from catalog.seeding import load_seed

    url = db.engine.url.render_as_string(hide_password=False)
    kept = _SEED_ROWS.get(url) if seed_dir == PROJECT_ROOT / "seed" else None
    if kept is None:
        result = load_seed(seed_dir)
        db.session.commit()
        if seed_dir == PROJECT_ROOT / "seed":
            with db.engine.connect() as connection:
                rows = [
                    (table, [dict(row) for row in connection.execute(table.select()).mappings()])
                    for table in db.metadata.sorted_tables
                ]
            _SEED_ROWS[url] = (copy.deepcopy(result), rows)
        return result
    result, rows = kept
    with db.engine.begin() as connection:
        for table, table_rows in rows:
            if table_rows:
                connection.execute(table.insert(), table_rows)
                if connection.dialect.name == "postgresql" and "id" in table.c:
                    # a bulk load elsewhere in the session may have set the sequence back
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                        f" (SELECT max(id) FROM {table.name}))"
                    )
    return copy.deepcopy(result)
