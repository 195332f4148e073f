"""The catalog's revision: a stamp rewritten in the same transaction as every change to the
published content, so caches of what is computed from that content (the report, search
results) can be checked with one single-row read instead of a scan."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from catalog.extensions import db
from catalog.models import (
    ApprovalItem,
    CatalogRevision,
    FaqEntry,
    Fee,
    HandlingItem,
    LegalBasis,
    Material,
    ProcessStep,
    Synonym,
    utcnow,
)

# Synonym: the search's synonym list, cached per worker under the same revision.
CONTENT = (
    *(ApprovalItem, HandlingItem, LegalBasis, Material, Fee, ProcessStep, FaqEntry, Synonym),
)
T = TypeVar("T")


def bump(connection: sa.Connection) -> None:
    """Record a change of the catalog on this connection (inside the changing transaction)."""
    table = CatalogRevision.__table__
    values = {"stamp": uuid.uuid4().hex, "changed_at": utcnow()}
    if not connection.execute(table.update().where(table.c.id == 1).values(**values)).rowcount:
        connection.execute(table.insert().values(id=1, **values))


def _columns_changed(obj: object) -> bool:
    """A column of the row changed (not only a relationship, such as an item's draft)."""
    state = sa.inspect(obj)
    return any(
        state.attrs[column.key].history.has_changes() for column in state.mapper.column_attrs
    )


@event.listens_for(Session, "after_flush")
def _note_content_change(session: Session, _context) -> None:
    added_or_removed = (*session.new, *session.deleted)
    if any(isinstance(obj, CONTENT) for obj in added_or_removed) or any(
        isinstance(obj, CONTENT) and _columns_changed(obj) for obj in session.dirty
    ):
        session.info["catalog_changed"] = True


@event.listens_for(Session, "before_commit")
def _bump_at_commit(session: Session) -> None:
    """The stamp row is written last, at the commit of the whole transaction: a transaction
    never holds its lock while it waits for another row (no lock cycle with a concurrent save or
    publish). The release of a savepoint (the services flush in one) fires this event too, in
    the middle of the transaction: not there."""
    if session.in_nested_transaction():
        return
    session.flush()
    if session.info.pop("catalog_changed", False):
        bump(session.connection())


@event.listens_for(Session, "after_soft_rollback")
def _forget_content_change(session: Session, _previous) -> None:
    """A transaction rolled back changed nothing. A savepoint rolled back leaves what the
    transaction changed before it: the mark stays (at worst a revision without a change, and
    the caches computed once more)."""
    if not session.in_transaction():
        session.info.pop("catalog_changed", None)


# Built once: it runs on every search and report request, and building the statement (and its
# key in SQLAlchemy's compiled cache) each time cost more than running it.
CURRENT_STAMP = sa.select(CatalogRevision.stamp).where(CatalogRevision.id == 1)


def current_stamp() -> str:
    """The catalog's current revision ('' before its first change)."""
    return db.session.scalar(CURRENT_STAMP) or ""


# The revision a transaction reads once it has changed the catalog and not yet committed: its
# own, seen by no other reader, so nothing computed from it is cached (Cache.get) or stored.
UNCOMMITTED = "uncommitted:"


def revision_key() -> tuple[str, str]:
    """What a cached value of the published catalog is kept under: the database (a process can
    serve more than one, as the tests do) and its current revision."""
    url = db.engine.url.render_as_string(hide_password=True)
    stamp = current_stamp()  # first: its query flushes a pending change, which marks the session
    if db.session.info.get("catalog_changed"):
        return url, UNCOMMITTED + uuid.uuid4().hex
    return url, stamp


def is_uncommitted(stamp: str) -> bool:
    """Whether a revision_key()'s stamp is a transaction's own (see UNCOMMITTED)."""
    return stamp.startswith(UNCOMMITTED)


def _of_uncommitted(key: Hashable) -> bool:
    return (
        isinstance(key, tuple)
        and len(key) > 1
        and isinstance(key[1], str)
        and is_uncommitted(key[1])
    )


class Cache:
    """A small thread-safe LRU of values computed from one revision of the catalog; a size of 0
    turns it off."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value kept under `key` (a revision_key(), then what else tells values apart),
        else `compute()` kept there; a value of an uncommitted revision is not kept."""
        if self.size <= 0 or _of_uncommitted(key):
            return compute()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
