"""What changed in the search frame's rows, written in the changing transaction.

The search frame (catalog.search.frame) is loaded once a revision: 0.35-0.6 s at 300,000
handling items, which the first search after every change waited for. Instead, each flush that
adds, changes or removes a handling item, an approval item or a search entry writes their ids
to search_change, and the next revision's frame re-reads only those rows (catalog.search.delta).
"""

from __future__ import annotations

import random
import secrets

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from catalog.models import ApprovalItem, HandlingItem, SearchChange, SearchEntry

# More rows than this in one flush (a reindex, a large import): one row saying "everything",
# and the next frame is loaded whole, which is then cheaper than reading each row.
MANY = 500
# Rows kept: older ones are deleted as new ones are written (a frame more changes behind than
# this is loaded whole).
KEPT = 10_000
_TABLE = SearchChange.__table__


def _changed(session: Session) -> set[tuple[int | None, int | None]]:
    found: set[tuple[int | None, int | None]] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, HandlingItem) and obj.id is not None:
            found.add((obj.id, None))
        elif isinstance(obj, SearchEntry) and obj.handling_item_id is not None:
            found.add((obj.handling_item_id, None))
        elif isinstance(obj, ApprovalItem) and obj.id is not None:
            found.add((None, obj.id))
    return found


def _token() -> str:
    return secrets.token_hex(8)


def everything_changed(connection: sa.Connection) -> None:
    """Record that any row may have changed (bulk writes past the session: the province
    generator, a reindex after changing the tables by hand)."""
    connection.execute(_TABLE.insert().values(handling_item_id=None, item_id=None, token=_token()))


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, _context) -> None:
    changed = _changed(session)
    if not changed:
        return
    connection = session.connection()
    if len(changed) > MANY:
        everything_changed(connection)
        return
    token = _token()
    rows = [{"handling_item_id": h, "item_id": i, "token": token}
            for h, i in sorted(changed, key=str)]  # fmt: skip
    connection.execute(_TABLE.insert(), rows)
    if random.random() < len(changed) / 1000:  # about once a thousand rows
        last = connection.scalar(sa.select(sa.func.max(_TABLE.c.id)))
        connection.execute(_TABLE.delete().where(_TABLE.c.id <= last - KEPT))
