"""The `limits` storage in the app's database: what the fixed-window strategy needs, the
counts of concurrent hits, ended windows cleaned away, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from catalog.extensions import limiter
from catalog.models import ThrottleCounter
from catalog.throttle_storage import CLEANUP_BATCH, KEY_LENGTH, DatabaseStorage, stored_key
from tests.conftest import temporary_postgres_database
from tests.test_cli import flask


@pytest.fixture
def storage(app, db) -> DatabaseStorage:
    return DatabaseStorage("database://")


def rows(db) -> dict[str, tuple[int, float]]:
    with db.engine.connect() as connection:
        query = sa.select(ThrottleCounter.key, ThrottleCounter.count, ThrottleCounter.expires_at)
        return {key: (count, expires_at) for key, count, expires_at in connection.execute(query)}


def test_the_scheme_is_registered_and_is_the_default(app):
    assert isinstance(storage_from_string("database://"), DatabaseStorage)
    assert app.config["RATELIMIT_STORAGE_URI"] == "database://"
    assert isinstance(limiter.storage, DatabaseStorage)


def test_the_limiter_cannot_be_turned_off_and_says_so():
    """RATELIMIT_ENABLED false would leave the sign-in throttle without its storage (an
    AssertionError in flask-limiter at the first sign-in, or at the start): the app refuses
    to start, naming the setting."""
    from catalog import create_app

    with pytest.raises(ValueError, match="RATELIMIT_ENABLED"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x",
                    "RATELIMIT_ENABLED": False})  # fmt: skip
    # refused before flask-limiter took the setting as the default of every app made after
    assert limiter.enabled


def test_a_counter_counts_in_its_window(storage):
    start = time.time()
    assert [storage.incr("k", 600) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("k", 600, amount=2) == 5
    assert storage.get("k") == 5
    assert start + 600 <= storage.get_expiry("k") <= time.time() + 600
    assert storage.get("other") == 0
    assert abs(storage.get_expiry("other") - time.time()) < 5  # no window: now


def test_the_fixed_window_strategy_runs_on_it(storage):
    strategy, limit = FixedWindowRateLimiter(storage), parse("3 per 10 minutes")
    assert [strategy.hit(limit, "a") for _ in range(4)] == [True, True, True, False]
    assert strategy.test(limit, "b") and not strategy.test(limit, "a")
    stats = strategy.get_window_stats(limit, "a")
    assert stats.remaining == 0 and stats.reset_time > time.time() + 590
    strategy.clear(limit, "a")
    assert strategy.hit(limit, "a")


def test_an_ended_window_counts_nothing_and_the_next_hit_starts_a_new_one(storage, monkeypatch):
    storage.incr("k", 60)
    storage.incr("k", 60)
    later = time.time() + 61
    monkeypatch.setattr("catalog.throttle_storage.time.time", lambda: later)
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1
    assert storage.get_expiry("k") == later + 60


def test_decr_gives_back_and_never_goes_below_zero(storage):
    storage.incr("k", 600, amount=2)
    assert storage.decr("k") == 1
    assert storage.decr("k", 5) == 0
    assert storage.decr("missing") == 0
    assert storage.get("k") == 0


def test_clear_reset_and_check(storage, db):
    for key in ("a", "b", "c"):
        storage.incr(key, 600)
    storage.clear("a")
    assert set(rows(db)) == {"b", "c"}
    assert storage.reset() == 2
    assert rows(db) == {}
    assert storage.check()


def test_clear_in_a_session_waits_for_its_commit(storage, db):
    storage.incr("k", 600)
    storage.clear_in(db.session, "k")
    db.session.rollback()
    assert storage.get("k") == 1
    storage.clear_in(db.session, "k")
    db.session.commit()
    assert storage.get("k") == 0


def test_a_long_key_is_stored_within_the_column(storage, db):
    long_key = "LIMITER/catalog/signin-account/" + "名" * 300
    assert storage.incr(long_key, 600) == 1
    assert storage.incr(long_key, 600) == 2
    assert storage.get(long_key) == 2
    [stored] = rows(db)
    assert len(stored) == KEY_LENGTH and stored == stored_key(long_key)
    assert stored_key(long_key + "x") != stored


def test_ended_windows_are_deleted_by_later_hits(storage, db):
    """The table holds the keys of one window, not every key ever counted."""
    ended = time.time() - 1
    with db.engine.begin() as connection:
        connection.execute(
            sa.insert(ThrottleCounter),
            [{"key": f"old-{n}", "count": 3, "expires_at": ended} for n in range(250)],
        )
    storage.incr("new-1", 600)
    assert len(rows(db)) == 250 - CLEANUP_BATCH + 1
    storage.incr("new-2", 600)
    storage.incr("new-3", 600)
    assert set(rows(db)) == {"new-1", "new-2", "new-3"}


def test_outside_an_app_context_it_counts_in_its_apps_database(app, db):
    storage = DatabaseStorage("database://")
    storage.app = app
    counted = []
    thread = threading.Thread(target=lambda: counted.append(storage.incr("k", 600)))
    thread.start()
    thread.join()
    assert counted == [1] and rows(db)["k"][0] == 1


def test_concurrent_hits_are_each_counted_once(app, db):
    """Eight threads, each with its own connection, hit one key 25 times at once: 200 hits,
    and every hit saw a count of its own (the process-level test: gunicorn workers in
    tests/staff/test_signin_throttle_workers.py). Sixteen threads on SQLite could wait on the
    write lock longer than its 5 s busy timeout on a loaded machine (SQLite's busy handler is
    not fair), which is a test of the machine, not of the counting."""
    storage = DatabaseStorage("database://")
    storage.app = app
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    seen: list[int] = []
    errors: list[BaseException] = []

    def hit() -> None:
        try:
            barrier.wait(timeout=30)
            counts = [storage.incr("shared", 600) for _ in range(per_thread)]
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)
        else:
            seen.extend(counts)

    workers = [threading.Thread(target=hit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    assert sorted(seen) == list(range(1, threads * per_thread + 1))
    assert storage.get("shared") == threads * per_thread


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    """An empty database, migrated by the test through the command line."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    with temporary_postgres_database("catalog_throttle") as url:
        yield url


def test_0016_is_not_undone_while_the_sign_in_log_holds_a_cleared_lockout(fresh_database):
    """The sign-in log is never rewritten: the downgrade refuses before changing anything."""
    assert flask(fresh_database, "db", "upgrade", "0016").returncode == 0  # the revision tested
    engine = sa.create_engine(fresh_database)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO auth_event (occurred_at, kind, actor)"
                    " VALUES (CURRENT_TIMESTAMP, 'lockout_cleared', 'admin1')"
                )
            )
        refused = flask(fresh_database, "db", "downgrade", "0015")
        assert refused.returncode != 0
        assert "登录日志不可改写，无法降级到 0015" in refused.stderr
        with engine.connect() as connection:
            version = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert version.scalar_one() == "0016"
            counters = connection.execute(sa.text("SELECT COUNT(*) FROM throttle_counter"))
            assert counters.scalar_one() == 0
    finally:
        engine.dispose()
