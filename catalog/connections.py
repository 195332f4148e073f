"""Pooled PostgreSQL connections are tested before use when they have been idle a while.

SQLAlchemy's pool_pre_ping tests every connection at every checkout: one round trip to the
server per request (a cached search on the seed took 1.43 ms of the worker's CPU without it
against 1.81 with it, on a busy machine; the distinct 3+ mix's throughput was 3-5 % higher:
docs/search-speed.md, *Round trips*). A connection put back into the pool less than
DATABASE_PING_AFTER seconds ago (1 by default; 0 tests every checkout, as pool_pre_ping does) is
trusted instead: it answered then. One that has been idle longer, where a restarted server, an
idle timeout or a dropped network path may have closed it, is tested first, and if it no longer
answers the pool replaces it and every connection older than it, as pool_pre_ping does.

A connection closed within that second (the server restarted under load) fails the request that
meets it, as it fails the requests in flight at that moment: a 503 (catalog.errors), and the
pool is renewed by SQLAlchemy on that disconnect, so the next request reconnects. SQLite has no
connection to lose and is not tested.
"""

from __future__ import annotations

import time
from functools import partial

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

from catalog.extensions import db

_LAST_USED = "catalog_last_used"  # the connection record's info: when it last answered


def init_app(app: Flask) -> None:
    if (app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}).get("pool_pre_ping"):
        return  # asked for by hand: SQLAlchemy tests every checkout already
    after = app.config["DATABASE_PING_AFTER"]
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        if engine.dialect.name == "sqlite":
            continue
        event.listen(engine, "connect", _answered)
        event.listen(engine, "checkin", _answered)
        event.listen(engine, "checkout", partial(_test_when_idle, engine.dialect, after))


def _answered(_dbapi_connection, record) -> None:
    record.info[_LAST_USED] = time.monotonic()


def _test_when_idle(dialect: sa.Dialect, after: float, dbapi_connection, record, _proxy) -> None:
    last = record.info.get(_LAST_USED)
    if last is not None and time.monotonic() - last < after:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error:
        # The pool takes this connection out, and every other one opened before now, and
        # checks out a new one (sqlalchemy.pool, as after a failed pool_pre_ping).
        raise sa.exc.InvalidatePoolError("the pooled connection no longer answers") from None
    record.info[_LAST_USED] = time.monotonic()
