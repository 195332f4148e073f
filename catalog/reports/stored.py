"""The live report kept in the database for the catalog revision it was computed from.

The report is made of sums kept current by every change (catalog.reports.aggregates: 0.2 s at
300,000 handling items), but takes seconds when they are not built and it is computed from
the rows (its fingerprint reads every handling item). Each worker keeps it in memory per
revision (catalog.reports.snapshots), but a worker that has not seen the current revision
yet, another worker of the deployment, or one gunicorn has just recycled, would make it
again. The first to make it stores it here (one row); the others read it. The row is written
only while its revision is still the catalog's current one, so a report computed while a
change was committed is never kept under the revision it no longer describes. Storing is best
effort: a report that cannot be stored is still served, and made again by the next worker.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import sqlalchemy as sa

from catalog.extensions import db
from catalog.models import StoredReport, utcnow
from catalog.reports.document import live_report
from catalog.revision import CURRENT_STAMP, is_uncommitted

log = logging.getLogger("catalog.reports")

_TABLE = StoredReport.__table__
_ROW = 1
# Built once (as revision.CURRENT_STAMP): they run on the first report request of a worker.
_STORED = sa.select(_TABLE.c.stamp, _TABLE.c.document).where(_TABLE.c.id == _ROW)
_CURRENT = sa.func.coalesce(CURRENT_STAMP.scalar_subquery(), "")


def stored_live_report(stamp: str) -> dict[str, Any]:
    """The live report at revision `stamp` (revision.current_stamp()): the stored one when it
    is of that revision, else computed now and stored. The document has the same shape both
    ways: what JSON gives back (lists, string keys), as a snapshot's report has. A
    transaction's own uncommitted revision is never stored nor read from the store."""
    shared = not is_uncommitted(stamp)
    if shared:
        stored = stored_row()
        if stored is not None and stored.stamp == stamp:
            document = orjson.loads(stored.document)
            if "data_quality" in document:  # else stored before the report had the section
                return document
    text = orjson.dumps(live_report())
    if shared:
        _store(stamp, text.decode())
    return orjson.loads(text)


def stored_row() -> sa.Row | None:
    """The stored report's row (stamp, document), if any."""
    return db.session.execute(_STORED).first()


def _store(stamp: str, document: str) -> None:
    """Replace the row, if `stamp` is still the catalog's revision; in a transaction of its
    own, so that the request's session (a reader's) is not committed."""
    values = {"stamp": stamp, "document": document, "computed_at": utcnow()}
    still_current = _CURRENT == sa.literal(stamp, _TABLE.c.stamp.type)  # noqa: SIM300
    row = [sa.literal(_ROW)] + [sa.literal(v, _TABLE.c[k].type) for k, v in values.items()]
    try:
        with db.engine.begin() as connection:
            connection.execute(_TABLE.delete().where(still_current))
            connection.execute(
                _TABLE.insert().from_select(["id", *values], sa.select(*row).where(still_current))
            )
    except sa.exc.IntegrityError:  # another worker stored it first
        log.info("live report of revision %s stored by another worker", stamp)
    except sa.exc.DBAPIError as error:  # the database is busy: the next worker computes it
        log.warning("live report computed but not stored: %s", type(error.orig).__name__)
