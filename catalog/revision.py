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
from catalog.models.attachments import MaterialAttachment

# Synonym: the search's synonym list, cached per worker under the same revision.
# MaterialAttachment: a material's files are part of its item's data (the guide, a snapshot's
# frozen data and its digest, catalog.reports.digests).
CONTENT = (
    *(ApprovalItem, HandlingItem, LegalBasis, Material, Fee, ProcessStep, FaqEntry, Synonym),
    MaterialAttachment,
)
T = TypeVar("T")
# Built once: it runs on every search and report request, and building the statement (and its
# key in SQLAlchemy's compiled cache) each time cost more than running it.
CURRENT_STAMP = sa.select(CatalogRevision.stamp).where(CatalogRevision.id == 1)


def _write_stamp(connection: sa.Connection) -> str:
    table = CatalogRevision.__table__
    values = {"stamp": uuid.uuid4().hex, "changed_at": utcnow()}
    if not connection.execute(table.update().where(table.c.id == 1).values(**values)).rowcount:
        connection.execute(table.insert().values(id=1, **values))
    return values["stamp"]


def bump(connection: sa.Connection) -> None:
    """Record a change of the catalog made by hand on this connection (Core inserts, a
    reindex: inside the changing transaction): the report's sums are built again, wholesale."""
    from catalog.reports import aggregates

    if not aggregates.available(connection):  # a database before migration 0024
        _write_stamp(connection)
        return
    aggregates.rebuild(connection)
    aggregates.set_state(connection, _write_stamp(connection))


# The session's notes, until its commit: the items whose report sums a change touched (their
# ids, and the handling items' of the rows that belong to one), and a write the unit of work
# did not see (session.execute of an INSERT, UPDATE or DELETE on a content table).
_ITEMS, _HANDLING, _UNSEEN = "report_items", "report_handling_items", "report_unseen"
_MATERIALS = "report_materials"  # (only the items' data digests depend on their files)
_BY_ITEM = (HandlingItem, LegalBasis, FaqEntry)
_BY_HANDLING_ITEM = (Material, Fee, ProcessStep)
_REPORTED_TABLES = frozenset(
    model.__tablename__ for model in (ApprovalItem, *_BY_ITEM, *_BY_HANDLING_ITEM)
)


def _old_and_new(obj: object, attribute: str) -> set[int]:
    history = sa.inspect(obj).attrs[attribute].history
    return {value for value in (*history.unchanged, *history.added, *history.deleted) if value}


def _note_touched(session: Session, objects: list[object]) -> None:
    items = session.info.setdefault(_ITEMS, set())
    handling = session.info.setdefault(_HANDLING, set())
    for obj in objects:
        if isinstance(obj, ApprovalItem):
            identity = sa.inspect(obj).identity
            if identity:
                items.add(identity[0])
        elif isinstance(obj, _BY_ITEM):
            items |= _old_and_new(obj, "item_id")
        elif isinstance(obj, _BY_HANDLING_ITEM):
            handling |= _old_and_new(obj, "handling_item_id")
        elif isinstance(obj, MaterialAttachment):
            session.info.setdefault(_MATERIALS, set()).update(_old_and_new(obj, "material_id"))


@event.listens_for(Session, "do_orm_execute")
def _note_unseen_write(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in _REPORTED_TABLES:
            state.session.info["catalog_changed"] = True
            state.session.info[_UNSEEN] = True


def _keep_report_sums(session: Session) -> None:
    """At the commit of a change: the report's sums of the items it touched, then the stamp
    (catalog.reports.aggregates). The items are read and their rows written before the stamp
    row is locked; the group sums, moved by every change, are written under that lock."""
    from catalog.reports import aggregates

    connection = session.connection()
    items = session.info.pop(_ITEMS, set())
    handling = session.info.pop(_HANDLING, set())
    materials = session.info.pop(_MATERIALS, set())
    unseen = session.info.pop(_UNSEEN, False)
    if not aggregates.available(connection):  # a database before migration 0024
        _write_stamp(connection)
        return
    if materials:  # (a material deleted with its files was noted by its handling item)
        handling |= set(
            connection.scalars(
                sa.select(Material.handling_item_id).where(Material.id.in_(materials))
            )
        )
    if handling:
        items |= set(
            connection.scalars(sa.select(HandlingItem.item_id).where(HandlingItem.id.in_(handling)))
        )
    deltas = {} if unseen else aggregates.refresh_items(connection, items)
    before = connection.scalar(CURRENT_STAMP.with_for_update())
    if unseen:
        bump(connection)
        return
    kept_at = aggregates.state(connection)
    # (a database without a revision row has an empty catalog and no sums: they agree)
    kept = kept_at == (before or "") if kept_at is not None else before is None
    stamp = _write_stamp(connection)
    if kept:
        aggregates.apply_deltas(connection, deltas)
        aggregates.set_state(connection, stamp)


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
        _note_touched(session, [*added_or_removed, *session.dirty])


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
        _keep_report_sums(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_content_change(session: Session, _previous) -> None:
    """A transaction rolled back changed nothing. A savepoint rolled back leaves what the
    transaction changed before it: the mark stays (at worst a revision without a change, and
    the caches computed once more)."""
    if not session.in_transaction():
        for note in ("catalog_changed", _ITEMS, _HANDLING, _MATERIALS, _UNSEEN):
            session.info.pop(note, None)


def current_stamp() -> str:
    """The catalog's current revision ('' before its first change)."""
    return db.session.scalar(CURRENT_STAMP) or ""


# The stamp this process last read of each database (by URL): what a search assumes, and checks
# in the statement that reads its page's rows (catalog.search.query), instead of reading it in
# a statement of its own first.
_last_read: dict[str, str] = {}


def _url() -> str:
    return db.engine.url.render_as_string(hide_password=True)


# The revision a transaction reads once it has changed the catalog and not yet committed: its
# own, seen by no other reader, so nothing computed from it is cached (Cache.get) or stored.
UNCOMMITTED = "uncommitted:"


def revision_key() -> tuple[str, str]:
    """What a cached value of the published catalog is kept under: the database (a process can
    serve more than one, as the tests do) and its current revision."""
    url = _url()
    stamp = current_stamp()  # first: its query flushes a pending change, which marks the session
    if db.session.info.get("catalog_changed"):
        return url, UNCOMMITTED + uuid.uuid4().hex
    _last_read[url] = stamp
    return url, stamp


def last_read_key() -> tuple[str, str] | None:
    """revision_key() as this process last read it, without a statement: right unless the
    catalog has changed since, so the caller reads the current stamp later, with rows it needs
    anyway, and checks it (checked_key). None when nothing was read yet, and when this session
    has changed the catalog or holds changes not flushed yet (revision_key() tells those)."""
    session = db.session
    if session.info.get("catalog_changed") or session.new or session.dirty or session.deleted:
        return None
    url = _url()
    stamp = _last_read.get(url)
    return None if stamp is None else (url, stamp)


def checked_key(assumed: tuple[str, str], stamp: str | None) -> tuple[str, str] | None:
    """`assumed` (last_read_key()'s) when `stamp`, read since with rows of the published
    catalog, says it is still the current revision (None: never changed, as current_stamp()
    reads it), so that what was computed at it goes with the rows; else the current key, kept as
    the last read; None when this session has changed the catalog meanwhile (its revision is its
    own: revision_key() tells it)."""
    if db.session.info.get("catalog_changed"):
        return None
    stamp = stamp or ""
    if stamp != assumed[1]:
        _last_read[assumed[0]] = stamp
    return assumed[0], stamp


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
