"""A fresh worker's first report comparison, made cheaper before anyone asks for it.

The first `/reports/compare` of a gunicorn worker paid for each of its statements' first
compilation by SQLAlchemy (about 5 ms of CPU on the seed, against 4-6 ms for the whole
comparison once they are compiled: docs/snapshots-speed.md). wsgi.py runs warm_statements when
gunicorn starts a worker, before the worker takes its first request (never in a `flask`
command, which may be the one that migrates the database). It ran in a thread of its own until
2026-12-06, so that the worker served at once; the warming then ran beside the first requests:
on PostgreSQL the first comparison of a fresh worker took 16-18 ms in the worker (the
warming's 46 ms of statements sharing it), 6-7 ms once the warming came first. It costs a
worker's start those tens of milliseconds, and never fails it: a statement waits at most
LOCK_WAIT for a lock (a migration running beside the start), and a failure is logged. Nothing is
computed or kept for a request: each statement is run once with arguments that match no row
(the stored report and one snapshot's report are read), in a transaction rolled back.
"""

from __future__ import annotations

import logging
import os

from flask import Flask

from catalog.extensions import db, has_table

log = logging.getLogger("catalog.reports")

# Every table the statements read: a database not yet migrated to them is left alone.
TABLES = ("catalog_revision", "report_snapshot", "report_snapshot_item",
          "report_snapshot_chunk", "item_data_digest", "stored_report")  # fmt: skip
NO_STAMP = "-"  # never a revision's stamp (uuid hex): the kept digests' query reads no row
LOCK_WAIT = "2s"  # PostgreSQL: the longest a warming statement waits for another's lock


def warm_statements(app: Flask) -> bool:
    """Run each statement of a comparison's first request once; whether they were run (False:
    the database is not migrated to them, or a statement failed, which is logged)."""
    from catalog.models import Snapshot
    from catalog.reports.digests import kept_index
    from catalog.reports.frozen import frozen_index
    from catalog.reports.snapshots import find_snapshot, list_snapshots
    from catalog.reports.stored import stored_row
    from catalog.revision import current_stamp

    try:
        with app.app_context():
            try:
                connection = db.session.connection()
                if connection.dialect.name == "postgresql":  # (for this transaction only)
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
                if not all(has_table(connection, name) for name in TABLES):
                    return False
                current_stamp()
                listed = list_snapshots()
                list_snapshots(with_reports=[NO_STAMP])  # the compare page's list (no label)
                find_snapshot("")
                kept_index(NO_STAMP)
                list(frozen_index(Snapshot(id=0)))  # (no snapshot has the id 0)
                if listed:
                    _ = listed[-1].report  # the deferred column's own statement
                stored_row()
            finally:
                db.session.remove()  # closing the session rolls its transaction back
    except Exception:  # a worker that cannot warm up serves all the same
        log.warning("warming the report statements failed", exc_info=True)
        return False
    return True


def served_by_gunicorn() -> bool:
    """Whether this process is a gunicorn worker (its arbiter sets SERVER_SOFTWARE)."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/")
