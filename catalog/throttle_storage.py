"""A `limits` storage in the app's own database (SQLite or PostgreSQL, whichever DATABASE_URL
names): the sign-in throttle's counters, shared by every worker process and every server that
uses the database, with nothing else to install or run.

RATELIMIT_STORAGE_URI="database://" (the default) selects it; the class registers that scheme
with `limits` by its STORAGE_SCHEME, as the library's own storages do. It implements what the
fixed-window strategy needs (incr, get, get_expiry, clear, reset, check), plus decr to give an
attempt back. Every increment is one atomic statement, INSERT … ON CONFLICT (key) DO UPDATE SET
count = count + 1 … RETURNING count: PostgreSQL locks the row, SQLite the database file, so
hits arriving together from any number of processes are each counted once and each sees its
own count. Counters live in table throttle_counter (migration 0016), in their own short
transactions, never in a request's (a refused sign-in rolls its request back, not its count).
Rows past their window count as nothing and are deleted, a batch at a time, by later hits.
"""

from __future__ import annotations

import hashlib
import time

import sqlalchemy as sa
from flask import Flask, has_app_context
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from catalog.extensions import db, limiter
from catalog.models import ThrottleCounter

SCHEME = "database"
KEY_LENGTH = 255  # throttle_counter.key
CLEANUP_BATCH = 100  # expired rows deleted by one hit, at most: each hit adds one row at most


def stored_key(key: str) -> str:
    """The key as stored: a key longer than the column keeps its start and a digest of all."""
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return key[: KEY_LENGTH - len(digest) - 1] + "#" + digest


class DatabaseStorage(Storage):
    """Fixed-window counters in table throttle_counter of the current app's database."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.app: Flask | None = None  # for calls outside an app context (init_app)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    def engine(self) -> sa.Engine:
        """The current app's database; outside an app context, the app this storage was made
        for (one process may run several apps, as the tests do: the limiter is a singleton)."""
        if has_app_context():
            return db.engine
        if self.app is None:
            raise RuntimeError("the database storage of the throttle needs an app context")
        with self.app.app_context():
            return db.engine

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount` to the key's counter and return the new count; a counter that does not
        exist or whose window has ended starts a new window of `expiry` seconds, as limits'
        memory and Redis storages do. One statement, atomic on both databases."""
        now = time.time()
        engine = self.engine()
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        ended = ThrottleCounter.expires_at <= now
        statement = (
            insert(ThrottleCounter)
            .values(key=stored_key(key), count=amount, expires_at=now + expiry)
            .on_conflict_do_update(
                index_elements=[ThrottleCounter.key],
                set_={
                    "count": sa.case((ended, amount), else_=ThrottleCounter.count + amount),
                    "expires_at": sa.case((ended, now + expiry), else_=ThrottleCounter.expires_at),
                },
            )
            .returning(ThrottleCounter.count)
        )
        with engine.begin() as connection:
            count = connection.execute(statement).scalar_one()
            self._delete_expired(connection, now)
        return count

    def decr(self, key: str, amount: int = 1) -> int:
        """Take `amount` back from a running counter (never below 0); return the new count."""
        now = time.time()
        statement = (
            sa.update(ThrottleCounter)
            .where(ThrottleCounter.key == stored_key(key), ThrottleCounter.expires_at > now)
            .values(
                count=sa.case(
                    (ThrottleCounter.count > amount, ThrottleCounter.count - amount), else_=0
                )
            )
            .returning(ThrottleCounter.count)
        )
        with self.engine().begin() as connection:
            return connection.execute(statement).scalar() or 0

    def get(self, key: str) -> int:
        return self.window(key)[0]

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (seconds since the epoch); now if it has none."""
        return self.window(key)[1]

    def window(self, key: str) -> tuple[int, float]:
        """(count, end of window) of one key: (0, now) when it has no running window."""
        return self.windows([key]).get(key, (0, time.time()))

    def windows(self, keys: list[str]) -> dict[str, tuple[int, float]]:
        """(count, end of window) of each of `keys` that has a running window, in one query."""
        if not keys:
            return {}
        by_stored = {stored_key(key): key for key in keys}
        query = sa.select(
            ThrottleCounter.key, ThrottleCounter.count, ThrottleCounter.expires_at
        ).where(ThrottleCounter.key.in_(list(by_stored)), ThrottleCounter.expires_at > time.time())
        with self.engine().connect() as connection:
            rows = connection.execute(query).all()
        return {by_stored[key]: (count, expires_at) for key, count, expires_at in rows}

    def clear(self, key: str) -> None:
        with self.engine().begin() as connection:
            connection.execute(
                sa.delete(ThrottleCounter).where(ThrottleCounter.key == stored_key(key))
            )

    def clear_in(self, session: Session, key: str) -> None:
        """Clear the key in `session`'s transaction: it is cleared exactly when the rest of
        that transaction (an admin's clearing and its log record) is committed."""
        session.execute(sa.delete(ThrottleCounter).where(ThrottleCounter.key == stored_key(key)))

    def reset(self) -> int:
        with self.engine().begin() as connection:
            return connection.execute(sa.delete(ThrottleCounter)).rowcount

    def check(self) -> bool:
        try:
            with self.engine().connect() as connection:
                connection.execute(sa.select(sa.literal(1)))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    @staticmethod
    def _delete_expired(connection: sa.Connection, now: float) -> None:
        """Delete a batch of counters whose window has ended, so the table stays bounded by
        the hits of one window. PostgreSQL skips rows another transaction holds (a hit
        renewing them, another cleanup) instead of waiting for them: no lock waits, no
        deadlocks; SQLite has one writer at a time and ignores FOR UPDATE.

        The batch is read first, then deleted: as a subquery of the DELETE, PostgreSQL may run
        the SELECT again for each row it scans, and a rerun skips the rows this statement has
        already deleted and locks the next ones, so the whole table went in one hit."""
        ended = connection.scalars(
            sa.select(ThrottleCounter.key)
            .where(ThrottleCounter.expires_at <= now)
            .limit(CLEANUP_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        if ended:
            connection.execute(sa.delete(ThrottleCounter).where(ThrottleCounter.key.in_(ended)))


def check_settings(app: Flask) -> None:
    """Before limiter.init_app (which keeps RATELIMIT_ENABLED as the default of every app made
    after): the limiter cannot be turned off. The sign-in throttle counts every attempt in its
    storage, which flask-limiter does not make when RATELIMIT_ENABLED is false (the first
    sign-in would fail on it)."""
    if not app.config.get("RATELIMIT_ENABLED", True):
        raise ValueError(
            "RATELIMIT_ENABLED cannot be false: the sign-in throttle counts attempts in the "
            "limiter's storage (set RATELIMIT_STORAGE_URI to choose where)"
        )


def init_app(app: Flask) -> None:
    """Tie the limiter's storage, when it is this one, to `app` (after limiter.init_app)."""
    if isinstance(limiter.storage, DatabaseStorage):
        limiter.storage.app = app
