"""Public searches that found nothing, counted per (normalised text, day) and nothing else.

No address, account, browser or time of day is kept: only the text (cut to MAX_FAILED_QUERY
characters) and the day in the display zone (北京时间). Each failed search is one upsert,
INSERT … ON CONFLICT (text, day) DO UPDATE SET count = count + 1, in its own short
transaction (never the request's), on SQLite and PostgreSQL alike. The table stays bounded:
a new row (the first failure of a text that day) also deletes the days past
FAILED_QUERY_RETENTION_DAYS and, when more than FAILED_QUERY_MAX_ROWS rows remain, the
oldest days' least counted ones. A repeated text costs the upsert alone. Recording never fails
a search: any database error is logged and the search is answered as usual.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
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


def _upsert(engine: sa.Engine, text: str, day: date) -> sa.Insert:
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    return (
        insert(FailedQuery)
        .values(text=text, day=day, count=1)
        .on_conflict_do_update(
            index_elements=[FailedQuery.text, FailedQuery.day],
            set_={"count": FailedQuery.count + 1},
        )
        .returning(FailedQuery.count)
    )


def record_failed_query(query: str) -> bool:
    """Count one search for `query` that found nothing (today); False when there was nothing
    to count or the database refused (logged, never raised)."""
    text = failed_text(query)
    if not text or not current_app.config["FAILED_QUERY_MAX_ROWS"]:
        return False
    try:
        engine = db.engine
        day = display_today()
        with engine.begin() as connection:
            count = connection.execute(_upsert(engine, text, day)).scalar_one()
            if count == 1:  # a new row: keep the table bounded
                prune(connection, day)
    except sa.exc.SQLAlchemyError:
        current_app.logger.warning("a failed search could not be counted", exc_info=True)
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
