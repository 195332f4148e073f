"""Public searches that found nothing, counted per (normalised text, day) and nothing else.

No address, account, browser or time of day is kept: only the text (cut to MAX_FAILED_QUERY
characters) and the day in the display zone (北京时间).

A worker holds its counts for FAILED_QUERY_WRITE_SECONDS (10 by default) and then writes them
all in one short transaction of its own (never the request's), after the response of the
request that found them due has been sent: a failed search no longer waits for a commit (on
SQLite a commit is an fsync of the database file: 25-60 ms each at 300,000 handling items on
the shared machine, paid by one search in twelve of the bench's). It also writes them when it
holds MAX_PENDING distinct texts, and when the process exits normally (gunicorn recycling or
stopping a worker). A worker killed outright loses at most those seconds of counts: they are
a hint for the synonym list, not a record. FAILED_QUERY_WRITE_SECONDS=0 writes each at once.

Each (text, day) is one upsert, INSERT … ON CONFLICT (text, day) DO UPDATE SET count = count +
n, on SQLite and PostgreSQL alike. The table stays bounded: a write that adds a row (the first
failure of a text that day) also deletes the days past FAILED_QUERY_RETENTION_DAYS and, when
more than FAILED_QUERY_MAX_ROWS rows remain, the oldest days' least counted ones. Counting never
fails a search: a database error is logged, the counts of that write are dropped, and the
search is answered as usual.
"""

from __future__ import annotations

import atexit
import re
import threading
import time
from collections import Counter
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Flask, after_this_request, current_app, has_request_context
from sqlalchemy.dialects import postgresql, sqlite

from catalog.extensions import db
from catalog.models import FailedQuery
from catalog.models.search_learning import MAX_FAILED_QUERY
from catalog.search.text import TERM_PATTERN, normalise
from catalog.templating import display_today

# A run of 6 or more digits: a telephone, ID card or account number someone typed into the
# search box. Such a query is not counted at all (no item name holds one).
PERSONAL_NUMBER = re.compile(r"\d{6,}")


def failed_text(query: str) -> str:
    """A query as it is counted: normalised, its words joined by one space, cut to
    MAX_FAILED_QUERY characters; '' when it has no word or holds a long number."""
    text = " ".join(TERM_PATTERN.findall(normalise(query or "")))
    if PERSONAL_NUMBER.search(text):
        return ""
    return text[:MAX_FAILED_QUERY].strip()


def _upsert(engine: sa.Engine, text: str, day: date, count: int) -> sa.Insert:
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    return (
        insert(FailedQuery)
        .values(text=text, day=day, count=count)
        .on_conflict_do_update(
            index_elements=[FailedQuery.text, FailedQuery.day],
            set_={"count": FailedQuery.count + count},
        )
        .returning(FailedQuery.count)
    )


MAX_PENDING = 500  # distinct (text, day) a worker holds before it writes them


class Pending:
    """The counts a worker holds until it writes them: (text, day) -> searches."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # (gevent's, in a gevent worker)
        self.counts: Counter[tuple[str, date]] = Counter()
        self.since = time.monotonic()
        self.due = False  # a write is on its way
        self.app: Flask | None = None

    def add(self, app: Flask, text: str, day: date, seconds: float) -> bool:
        """Count one; whether this call should arrange the write."""
        with self.lock:
            self.app = app
            # while a write is on its way, at most twice the batch of texts is held: a new
            # text past that is not counted, so the memory stays bounded
            if (text, day) in self.counts or len(self.counts) < 2 * MAX_PENDING:
                self.counts[text, day] += 1
            if self.due:
                return False
            self.due = len(self.counts) >= MAX_PENDING or time.monotonic() - self.since >= seconds
            return self.due

    def take(self) -> Counter[tuple[str, date]]:
        with self.lock:
            counts, self.counts = self.counts, Counter()
            self.since, self.due = time.monotonic(), False
            return counts


pending = Pending()


def record_failed_query(query: str) -> bool:
    """Count one search for `query` that found nothing (today); False when there was nothing
    to count or, written at once, the database refused (logged, never raised)."""
    text = failed_text(query)
    config = current_app.config
    if not text or not config["FAILED_QUERY_MAX_ROWS"]:
        return False
    app, day = current_app._get_current_object(), display_today()
    seconds = config["FAILED_QUERY_WRITE_SECONDS"]
    if seconds <= 0:
        return _write(app, Counter({(text, day): 1}))
    if pending.add(app, text, day, seconds):
        if has_request_context():  # once the response has been sent

            @after_this_request
            def write_after(response):
                response.call_on_close(write_pending)
                return response

        else:
            write_pending()
    return True


def write_pending() -> bool:
    """Write the counts this worker holds; False when the database refused them."""
    counts = pending.take()
    return _write(pending.app, counts) if counts and pending.app is not None else True


atexit.register(write_pending)  # a worker that stops normally keeps its counts


def _write(app: Flask, counts: Counter[tuple[str, date]]) -> bool:
    try:
        with app.app_context():
            engine = db.engine
            with engine.begin() as connection:
                added = False
                for (text, day), count in sorted(counts.items()):
                    total = connection.execute(_upsert(engine, text, day, count)).scalar_one()
                    added |= total == count
                if added:  # a new row: keep the table bounded
                    prune(connection, display_today())
    except sa.exc.SQLAlchemyError:
        app.logger.warning("failed searches could not be counted", exc_info=True)
        return False
    return True


def prune(connection: sa.Connection, day: date) -> int:
    """Delete the rows past the retention period, then the rows beyond FAILED_QUERY_MAX_ROWS:
    the oldest days first, the least counted first within a day. Returns how many went."""
    config = current_app.config
    table = FailedQuery.__table__
    cutoff = day - timedelta(days=config["FAILED_QUERY_RETENTION_DAYS"])
    deleted = connection.execute(table.delete().where(table.c.day < cutoff)).rowcount
    limit = config["FAILED_QUERY_MAX_ROWS"]
    rows = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    if rows > limit:
        doomed = (
            sa.select(table.c.text, table.c.day)
            .order_by(table.c.day, table.c.count, table.c.text)
            .limit(rows - limit)
        )
        keys = connection.execute(doomed).all()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            connection.execute(
                table.delete().where(sa.tuple_(table.c.text, table.c.day).in_(chunk))
            )
        deleted += len(keys)
    return deleted


def purge_failed_queries() -> int:
    """Delete what is past the retention period or beyond the row cap (for `flask
    purge-failed-queries` and tests); flushes in the request's or command's transaction."""
    return prune(db.session.connection(), display_today())


def most_failed(days: int, *, limit: int = 100) -> list[tuple[str, int, date]]:
    """(text, searches, last day) of the texts that found nothing most often in the last
    `days` days (today included), most searched first."""
    since = display_today() - timedelta(days=days - 1)
    total = sa.func.sum(FailedQuery.count).label("total")
    return [
        (text, int(count), last)
        for text, count, last in db.session.execute(
            sa.select(FailedQuery.text, total, sa.func.max(FailedQuery.day))
            .where(FailedQuery.day >= since)
            .group_by(FailedQuery.text)
            .order_by(total.desc(), FailedQuery.text)
            .limit(limit)
        )
    ]


def dismiss_failed_query(text: str) -> int:
    """Forget every count of `text` (it was looked at); the number of rows deleted."""
    return db.session.execute(sa.delete(FailedQuery).where(FailedQuery.text == text)).rowcount
