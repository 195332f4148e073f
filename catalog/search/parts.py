"""The entries' distinct parts and their postings: a Chinese word's handling items without
visiting the entries.

An entry's text is made of parts (catalog.search.index.entry_and_parts): the item name with
the situation, the situation, the result name, each legal basis and each material name (the
codes hold none of the characters a word looked up here has). A word holds no space, so it is
in an entry exactly when it is in one of its parts. A province repeats the same parts in
entry after entry (300,000 handling items: about 3,300 distinct parts, 2 million postings), so
a word is matched over the parts (search_part, a few thousand short rows), then their handling
items are read from the postings' primary key alone (search_posting: an index-only scan on
PostgreSQL), where the search entries' GIN indexes visited the 1.5 KB row of every match
(docs/search-speed.md).

Written where the entries are: the services through index_item, whose parts are written here
after the flush (when new handling items have their ids); the province generator in bulk; the
migration 0026 and rebuild_index for everything.

A part no entry has any more (a material renamed everywhere) stays, listing nothing: it costs
one short row in a word's scan of the parts, and deleting it could race a writer that has just
read its id for a new posting. The parts grow only with the distinct texts ever written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from catalog.models import SearchEntry, SearchPart, SearchPosting

PART = SearchPart.__table__
POSTING = SearchPosting.__table__
BATCH = 500  # ids or keys in one IN (...)
PENDING = "search_parts"  # session.info: entry -> its parts, until the flush writes them

Parts = tuple[tuple[str, bool], ...]  # (normalised text, in the name), once each


def part_key(text: str, in_name: bool) -> bytes:
    return hashlib.blake2b(f"{int(in_name)}{text}".encode(), digest_size=16).digest()


def _batches(values: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def part_ids(connection: sa.Connection, parts: Iterable[tuple[str, bool]]) -> dict[bytes, int]:
    """The ids of these parts by key, those not there yet added. Two writers adding the same
    new part: the second's insert does nothing, and both read the one row."""
    wanted = {part_key(text, in_name): (text, in_name) for text, in_name in parts}
    found: dict[bytes, int] = {}

    def read(keys: list[bytes]) -> None:
        for batch in _batches(keys):
            found.update(connection.execute(
                sa.select(PART.c.key, PART.c.id).where(PART.c.key.in_(batch))
            ).tuples().all())  # fmt: skip

    read(list(wanted))
    missing = [key for key in wanted if key not in found]
    if missing:
        add_parts(connection, [{"key": key, "text": wanted[key][0], "in_name": wanted[key][1]}
                               for key in missing])  # fmt: skip
        read(missing)
    return found


def add_parts(connection: sa.Connection, rows: list[dict]) -> None:
    """Insert parts (key, text, in_name); one another writer has inserted since is left. Only
    the key's conflict is let pass: any other (an id the sequence hands out twice) raises
    rather than leave the part unwritten."""
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for batch in _batches(rows):
        connection.execute(insert(PART).on_conflict_do_nothing(index_elements=[PART.c.key]), batch)


def advance_part_ids(connection: sa.Connection) -> None:
    """PostgreSQL: the parts' id sequence continues after the ids PartNumbers wrote; else the
    next part a service adds takes an id already used."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('search_part', 'id'),"
            " (SELECT coalesce(max(id), 1) FROM search_part))"
        )


def write_postings(connection: sa.Connection, entries: Mapping[int, Parts]) -> None:
    """Make the postings of these handling items (by id) those of their parts."""
    ids = part_ids(connection, {part for parts in entries.values() for part in parts})
    new = {
        handling_id: {ids[part_key(text, in_name)] for text, in_name in parts}
        for handling_id, parts in entries.items()
    }
    old: dict[int, set[int]] = {handling_id: set() for handling_id in entries}
    for batch in _batches(list(entries)):
        rows = connection.execute(
            sa.select(POSTING.c.handling_item_id, POSTING.c.part_id)
            .where(POSTING.c.handling_item_id.in_(batch))
        )  # fmt: skip
        for handling_id, part_id in rows:
            old[handling_id].add(part_id)
    changed = [handling_id for handling_id in entries if new[handling_id] != old[handling_id]]
    for batch in _batches([h for h in changed if old[h]]):
        connection.execute(POSTING.delete().where(POSTING.c.handling_item_id.in_(batch)))
    rows = [{"part_id": part_id, "handling_item_id": handling_id}
            for handling_id in changed for part_id in sorted(new[handling_id])]  # fmt: skip
    for batch in _batches(rows, 5000):
        connection.execute(POSTING.insert(), batch)


def remember(session: Session, entry: SearchEntry, parts: Parts) -> None:
    """Write the entry's parts after the next flush (when a new entry has its id)."""
    session.info.setdefault(PENDING, {})[entry] = parts


@event.listens_for(Session, "after_flush")
def _write_pending(session: Session, _context) -> None:
    pending: dict[SearchEntry, Parts] = session.info.pop(PENDING, None) or {}
    entries = {
        entry.handling_item_id: parts
        for entry, parts in pending.items()
        if entry.handling_item_id is not None and entry not in session.deleted
    }
    if entries:
        write_postings(session.connection(), entries)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, _previous) -> None:
    session.info.pop(PENDING, None)


class PartNumbers:
    """Part ids handed out in bulk, for a writer that holds the tables alone (the province
    generator, the migration 0026): the parts there already, read once, and new ones numbered
    after them, their rows kept to be written with the postings."""

    def __init__(self, connection: sa.Connection):
        self.ids: dict[bytes, int] = dict(
            connection.execute(sa.select(PART.c.key, PART.c.id)).tuples().all()
        )
        self.next = max(self.ids.values(), default=0) + 1
        self.rows: list[dict] = []  # new parts not yet written

    def postings(self, handling_id: int, parts: Parts) -> list[dict[str, int]]:
        found = []
        for text, in_name in parts:
            key = part_key(text, in_name)
            part_id = self.ids.get(key)
            if part_id is None:
                part_id = self.ids[key] = self.next
                self.next += 1
                self.rows.append({"id": part_id, "key": key, "text": text, "in_name": in_name})
            found.append({"part_id": part_id, "handling_item_id": handling_id})
        return found

    def take_rows(self) -> list[dict]:
        rows, self.rows = self.rows, []
        return rows


_ITEM = sa.table("approval_item", sa.column("id"), sa.column("name"), sa.column("result_name"))
_BASIS = sa.table("legal_basis", sa.column("item_id"), sa.column("position"),
                  sa.column("law"), sa.column("article"), sa.column("text"))  # fmt: skip
_HANDLING = sa.table("handling_item", sa.column("id"), sa.column("item_id"),
                     sa.column("situation"))  # fmt: skip
_MATERIAL = sa.table("material", sa.column("handling_item_id"), sa.column("position"),
                     sa.column("name"))  # fmt: skip
_ENTRY = sa.table("search_entry", sa.column("handling_item_id"))


def parts_from_sources(connection: sa.Connection) -> Iterable[tuple[int, Parts]]:
    """Every entry's parts (handling item id, parts), read from the catalog's rows as
    index_item reads them: for an existing catalog (the migration 0026, a check)."""
    from catalog.search.index import entry_and_parts

    items = {i: (name, result) for i, name, result in connection.execute(sa.select(_ITEM))}
    bases: dict[int, list[tuple]] = {}
    for item_id, law, article, text in connection.execute(
        sa.select(_BASIS.c.item_id, _BASIS.c.law, _BASIS.c.article, _BASIS.c.text)
        .order_by(_BASIS.c.item_id, _BASIS.c.position, _BASIS.c.law)
    ):  # fmt: skip
        bases.setdefault(item_id, []).append((law, article, text))
    materials: dict[int, list[str]] = {}
    for handling_id, name in connection.execute(
        sa.select(_MATERIAL.c.handling_item_id, _MATERIAL.c.name)
        .order_by(_MATERIAL.c.handling_item_id, _MATERIAL.c.position)
    ):  # fmt: skip
        materials.setdefault(handling_id, []).append(name)
    handling = connection.execute(
        sa.select(_HANDLING.c.id, _HANDLING.c.item_id, _HANDLING.c.situation)
        .join(_ENTRY, _ENTRY.c.handling_item_id == _HANDLING.c.id)
        .order_by(_HANDLING.c.id)
    ).all()  # fmt: skip
    for handling_id, item_id, situation in handling:
        name, result = items[item_id]
        _values, parts = entry_and_parts(
            item_name=name, item_code="", result_name=result, legal_bases=bases.get(item_id, ()),
            handling_code="", situation=situation, material_names=materials.get(handling_id, ()),
            pinyin=("", ""),
        )  # fmt: skip
        yield handling_id, parts


def fill(connection: sa.Connection, *, insert=None) -> int:
    """Write every entry's parts and postings from the catalog's rows, into empty tables (the
    migration 0026). `insert(connection, table, rows)` writes rows (the province generator's
    COPY on PostgreSQL). Returns the number of postings."""
    insert = insert or (lambda conn, table, rows: conn.execute(table.insert(), rows))
    numbers, postings, written = PartNumbers(connection), [], 0

    def flush() -> None:
        nonlocal written
        if numbers.rows:
            insert(connection, PART, numbers.take_rows())
        if postings:
            insert(connection, POSTING, postings)
            written += len(postings)
            postings.clear()

    for handling_id, parts in parts_from_sources(connection):
        postings += numbers.postings(handling_id, parts)
        if len(postings) >= 50_000:
            flush()
    flush()
    advance_part_ids(connection)
    return written
