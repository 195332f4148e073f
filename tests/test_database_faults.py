"""When the database goes away: a quick 503 with a clear message (never a 500, never a hang),
nothing half-saved, and recovery without a restart; a process killed in the middle of a load
leaves the database as it was.

PostgreSQL is reached through a TCP proxy the test switches off and on, so the shared server
itself never stops.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

import config
from catalog.accounts import create_user
from catalog.errors import DATABASE_UNAVAILABLE, NOT_SAVED
from catalog.extensions import db, limiter
from catalog.models import AuditEvent
from catalog.reports.snapshots import create_snapshot
from catalog.seeding import load_seed
from tests.conftest import PROJECT_ROOT, make_app, temporary_postgres_database
from tests.factories import handling_item_data, item_data, publish
from tests.staff.conftest import sign_in
from tests.staff.forms import read_form

PAGES = ["/", "/items?q=港口", "/api/v1/report", "/reports"]
BOUND = 10  # seconds: a bound on the wait, not a speed requirement
CONNECT_TIMEOUT = 2


class SwitchableProxy:
    """Forwards 127.0.0.1:<port> to the database server. `off()` closes every connection and
    refuses new ones, `stall()` accepts connections and never answers, `on()` forwards again."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._stalled = False
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def on(self) -> None:
        self.off()
        self._stalled = False
        self._listen()

    def stall(self) -> None:
        self.off()
        self._stalled = True
        self._listen()

    def off(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)  # shutdown first: it stops listening even while accept() waits
            self._acceptor.join()
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            _close(connection)

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.setblocking(True)
            self._track(client)
            if self._stalled:
                continue  # accepted, never answered
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.setblocking(True)
            self._track(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


def database_state(url: str) -> dict[str, list[str]]:
    """Every row of every table, in a stable order, read through a connection of its own."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(repr(tuple(row)) for row in connection.execute(table.select()))
                for table in db.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def timed(call: Callable[[], object]) -> tuple[object, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def assert_unavailable(response, path: str) -> None:
    assert response.status_code == 503, (path, response.status_code)
    assert response.headers["Retry-After"]
    if path.startswith("/api/"):
        assert response.get_json() == {"error": {"status": 503, "message": DATABASE_UNAVAILABLE}}
    else:
        assert DATABASE_UNAVAILABLE in response.get_data(as_text=True)


def outage_log(caplog) -> list[logging.LogRecord]:
    """The error records written while the database was away: one line each, no traceback."""
    records = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert all(r.exc_info is None for r in records), [r.getMessage() for r in records]
    return [r for r in records if r.getMessage().startswith("database unavailable")]


def small_catalog() -> None:
    publish(
        db,
        item_data(handling_item_data(code="A-01"), code="A", name="港口经营许可"),
        item_data(code="B", name="港口危险货物作业许可", type="confirmation"),
    )
    create_snapshot("2020", actor="test")
    db.session.commit()


# PostgreSQL behind a switchable proxy.


@pytest.fixture
def proxied() -> Iterator[tuple[Flask, SwitchableProxy, str]]:
    """The app on a throw-away PostgreSQL database reached through the proxy, with a small
    published catalog and an editor's account; yields (app, proxy, direct database URL)."""
    with temporary_postgres_database("catalog_faults") as direct_url:
        direct = sa.make_url(direct_url)
        proxy = SwitchableProxy((direct.host or "127.0.0.1", direct.port or 5432))
        proxy.on()
        url = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        options = config.engine_options(url)
        options["connect_args"]["connect_timeout"] = CONNECT_TIMEOUT
        app = make_app(url, SQLALCHEMY_ENGINE_OPTIONS=options)
        try:
            with app.app_context():
                upgrade()
                small_catalog()
                create_user("editor1", "许昌交通运输2026审批", "editor")
                db.session.commit()
            limiter.reset()
            yield app, proxy, direct_url
        finally:
            with app.app_context():
                db.engine.dispose()
            proxy.off()


def test_pages_and_api_answer_503_while_postgresql_is_down_then_recover(proxied, caplog):
    app, proxy, _direct_url = proxied
    client = app.test_client()
    for path in PAGES:
        assert client.get(path).status_code == 200, path

    proxy.off()
    with caplog.at_level(logging.ERROR):
        for path in PAGES:
            response, seconds = timed(lambda path=path: client.get(path))
            assert_unavailable(response, path)
            assert seconds < BOUND, (path, seconds)
    assert len(outage_log(caplog)) == len(PAGES)  # one line per refused request

    proxy.on()  # the same app, not restarted: stale pooled connections are replaced
    for path in PAGES:
        assert client.get(path).status_code == 200, path


def test_a_server_that_accepts_but_never_answers_is_a_503_after_the_connect_timeout(proxied):
    app, proxy, _direct_url = proxied
    client = app.test_client()
    assert client.get("/api/v1/report").status_code == 200
    proxy.stall()
    for path in ("/api/v1/report", "/"):
        response, seconds = timed(lambda path=path: client.get(path))
        assert_unavailable(response, path)
        assert seconds < BOUND, (path, seconds)
    proxy.on()
    assert client.get("/api/v1/report").status_code == 200


def _edit_form(client) -> dict[str, list[str]]:
    """The editor's form for A-01 as the page gives it, with a shorter promised time."""
    path = "/staff/handling/A-01/edit"
    data: dict[str, list[str]] = {}
    for name, value in read_form(client.get(path).get_data(as_text=True), path):
        data.setdefault(name, []).append(value)
    data.update(promised_days=["2"], reason=["压缩承诺时限"], action=["save"])
    return data


def test_a_staff_save_during_the_outage_is_refused_and_leaves_nothing(proxied, caplog):
    app, proxy, direct_url = proxied
    editor = app.test_client()
    assert sign_in(editor, "editor1").status_code == 302  # signed in before the outage
    form = _edit_form(editor)
    before = database_state(direct_url)

    proxy.off()
    with caplog.at_level(logging.ERROR):
        response, seconds = timed(lambda: editor.post("/staff/handling/A-01/edit", data=form))
    assert response.status_code == 503 and seconds < BOUND
    page = response.get_data(as_text=True)
    assert DATABASE_UNAVAILABLE in page and NOT_SAVED in page
    assert len(outage_log(caplog)) == 1

    proxy.on()
    assert database_state(direct_url) == before  # no draft, no audit event, no auth event
    # The session survived and the very same form saves once the database is back.
    saved = editor.post("/staff/handling/A-01/edit", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert database_state(direct_url)["audit_event"] != before["audit_event"]


def test_a_save_whose_commit_is_cut_off_is_rolled_back_whole(proxied):
    """The connection drops after the services flushed the draft and its audit event, just
    before COMMIT: the server discards the whole transaction."""
    app, proxy, direct_url = proxied
    editor = app.test_client()
    assert sign_in(editor, "editor1").status_code == 302
    form = _edit_form(editor)
    before = database_state(direct_url)
    audit_events_in_transaction: list[int] = []

    def cut_off(session) -> None:
        if session.in_nested_transaction():  # a savepoint's release, not the commit
            return
        count = sa.select(sa.func.count()).select_from(AuditEvent)
        audit_events_in_transaction.append(session.scalar(count))
        proxy.off()

    sa.event.listen(sa.orm.Session, "before_commit", cut_off)
    try:
        response = editor.post("/staff/handling/A-01/edit", data=form)
    finally:
        sa.event.remove(sa.orm.Session, "before_commit", cut_off)
    assert response.status_code == 503
    assert audit_events_in_transaction == [len(before["audit_event"]) + 1]  # written, not kept
    assert NOT_SAVED in response.get_data(as_text=True)
    proxy.on()
    assert database_state(direct_url) == before
    assert editor.get("/staff/items/A").status_code == 200  # recovered, still signed in


# SQLite: a file locked by another connection, a file that cannot be opened.


@pytest.fixture
def sqlite_app(tmp_path) -> Iterator[tuple[Flask, Path]]:
    path = tmp_path / "catalog.sqlite3"
    url = f"sqlite:///{path}"
    options = config.engine_options(url)
    options["connect_args"]["timeout"] = 0.2
    app = make_app(url, SQLALCHEMY_ENGINE_OPTIONS=options)
    with app.app_context():
        upgrade()
        small_catalog()
    yield app, path
    with app.app_context():
        db.engine.dispose()


def test_a_locked_sqlite_database_is_a_503_not_a_500(sqlite_app, caplog):
    app, path = sqlite_app
    client = app.test_client()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with caplog.at_level(logging.ERROR):
            for page in PAGES:
                response, seconds = timed(lambda page=page: client.get(page))
                assert_unavailable(response, page)
                assert seconds < BOUND
        assert len(outage_log(caplog)) == len(PAGES)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for page in PAGES:
        assert client.get(page).status_code == 200, page


def test_an_sqlite_file_that_cannot_be_opened_is_a_503_not_a_500(sqlite_app):
    app, path = sqlite_app
    client = app.test_client()
    with app.app_context():
        db.engine.dispose()  # a new worker: nothing already open
    aside = path.with_suffix(".aside")
    path.rename(aside)
    path.mkdir()  # the tests run as root, so a mode of 000 would not stop them
    try:
        for page in PAGES:
            assert_unavailable(client.get(page), page)
    finally:
        path.rmdir()
        aside.rename(path)
    for page in PAGES:
        assert client.get(page).status_code == 200, page


def test_a_sql_mistake_on_sqlite_stays_a_500_with_its_traceback(sqlite_app, caplog):
    """Only an unavailable database is a 503: sqlite3 raises OperationalError for bad SQL too."""
    from catalog.errors import is_database_outage

    with sqlite_app[0].app_context(), pytest.raises(sa.exc.OperationalError) as raised:
        db.session.execute(sa.text("SELECT * FROM no_such_table"))
    assert not is_database_outage(raised.value)


# A process killed with SIGKILL in the middle of a load.


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    else:
        with temporary_postgres_database("catalog_kill") as url:
            yield url


def writing_started(url: str) -> Callable[[], bool]:
    """True once another process has begun writing in a transaction it has not committed: on
    SQLite its rollback journal exists, on PostgreSQL it holds a row-exclusive table lock."""
    if url.startswith("sqlite"):
        journal = Path(sa.make_url(url).database + "-journal")
        return journal.exists
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    query = sa.text(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
        " AND l.mode = 'RowExclusiveLock' AND l.granted"
    )

    def check() -> bool:
        with engine.connect() as connection:
            return bool(connection.scalar(query))

    return check


def kill_while_writing(url: str, *args: str) -> None:
    """Run `flask --app wsgi <args>` against `url` and SIGKILL it in the middle of its
    transaction: once it has been writing for a moment, never after it has finished."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "kill-test", "PYTHONUNBUFFERED": "1"}
    started = writing_started(url)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not started():
            assert process.poll() is None, (
                "finished before it was seen writing: " + process.stdout.read().decode()
            )
            assert time.monotonic() < deadline, "never started writing"
            time.sleep(0.01)
        time.sleep(0.3)  # well inside the transaction: some rows written, more to come
        assert process.poll() is None, "finished before it could be killed; use more data"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL


def migrated(url: str) -> Flask:
    app = make_app(url)
    with app.app_context():
        upgrade()
    return app


def test_a_seed_killed_midway_leaves_the_database_as_it_was(fresh_url):
    app = migrated(fresh_url)
    with app.app_context():
        db.engine.dispose()
    before = database_state(fresh_url)
    # written by the migrations (report_sums_state: an empty catalog's sums are right, 0024;
    # publication_period: the default publication periods of penalties, 0029)
    schema_rows = (
        "alembic_version", "catalog_revision", "report_sums_state", "publication_period",
    )  # fmt: skip
    assert not any(rows for name, rows in before.items() if name not in schema_rows)

    kill_while_writing(fresh_url, "seed")

    assert database_state(fresh_url) == before


def test_an_import_killed_midway_leaves_the_catalog_as_it_was(fresh_url, tmp_path):
    app = migrated(fresh_url)
    rows_file, materials_file = tmp_path / "catalog.csv", tmp_path / "catalog-materials.csv"
    with app.app_context():
        load_seed(PROJECT_ROOT / "seed")
        db.session.commit()
        exported = app.test_cli_runner().invoke(args=["export-items", "--output", str(rows_file)])
        assert exported.exit_code == 0, exported.output
        db.session.close()  # the export ran in this context: give its connection back
        db.engine.dispose()
    # Every one of the 190 items changed, so the import rewrites them all (and audits them).
    with rows_file.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    hours = rows[0].index("办理时间")
    for row in rows[1:]:
        row[hours] += "（节假日除外）"
    changed = tmp_path / "changed.csv"
    with changed.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    before = database_state(fresh_url)
    assert len(before["approval_item"]) == 190

    kill_while_writing(
        fresh_url, "import-items", str(changed), "--materials", str(materials_file), "--publish"
    )

    assert database_state(fresh_url) == before
