"""A snapshot's frozen item data: read from the catalog in chunks, stored compressed, read back.

What a snapshot freezes is every published item as services.item_data() shapes it (with its
published handling items only). Through the ORM and the marshmallow schema that took 10 s and
400 MB per 20,000 items at province scale (a whole snapshot of 271,461 items and 300,000
handling items would take minutes and gigabytes), so the data is read here with one plain
query per table and chunk of items and built as plain dicts: the same dicts item_data() gives,
which tests/reports/test_frozen.py holds it to, field by field, on both databases.

A snapshot stores its items in chunks of STORED_ITEMS, in code order: each chunk is a row of
report_snapshot_chunk holding the items' data as zlib-compressed JSON, and an index of
(code, name, digest, start, end) per item, compressed apart, so that a comparison reads the two
indexes and parses only the items that differ. Snapshots frozen before the chunks (one
report_snapshot_item row per item) are read through the same functions.
"""

from __future__ import annotations

import gc
import hashlib
import sys
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa

from catalog.enums import Status
from catalog.extensions import db
from catalog.models import (
    ApprovalItem,
    FaqEntry,
    Fee,
    HandlingItem,
    LegalBasis,
    Material,
    ProcessStep,
    Snapshot,
    SnapshotChunk,
    SnapshotItem,
)
from catalog.models.attachments import MaterialAttachment
from catalog.schemas import NO_FEE

CHUNK_ITEMS = 1_000  # items read from the catalog per round of queries
STORED_ITEMS = 200  # items per stored chunk: ~0.4 MB of JSON, ~0.12 MB compressed
COMPRESSION = 1  # zlib's fastest level: 3x faster than its default, the data ~15 % larger
CENT = Decimal("0.01")
PUBLISHED = Status.published.value
# code, name, digest, and where its data is: (chunk position, start, end) in the chunk's JSON
# (start and end None in a snapshot of the old form); None for the live catalog
IndexEntry = tuple[str, str, str, tuple[int, int | None, int | None] | None]


def _raw(column: Any) -> Any:
    """A column's stored value as the driver gives it: an enum's value, not its member; JSON
    as its text (orjson reads it 5x faster than the type's json.loads)."""
    if isinstance(column.type, sa.Enum | sa.JSON):
        return sa.type_coerce(column, sa.String).label(column.key)
    return column


def _select(*columns: Any) -> sa.Select:
    return sa.select(*(_raw(column) for column in columns))


def _json(value: Any) -> Any:
    """A JSON column's value: its text on SQLite, already read by psycopg on PostgreSQL."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _grouped(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    return grouped


def _amount(value: Any) -> str | None:
    if value is None:
        return None
    return format(Decimal(str(value)).quantize(CENT), "f")


def _fees(charges_fee: bool | None, fees: list[Any]) -> Any:
    """As schemas.FeesField writes them: null (not provided), "none" (不收费) or the list."""
    if charges_fee is None and not fees:
        return None
    if not fees:
        return NO_FEE
    return [{"amount": _amount(amount), "basis": basis, "name": name, "standard": standard}
            for _id, name, standard, amount, basis in fees]  # fmt: skip


def _handling(row: Any, materials: list[dict], fees: list[Any], steps: list[Any]) -> dict:
    (_item_id, _id, code, situation, case_type, statutory, promised, visits, reason, window,
     online, express, depth, charges_fee, url) = row  # fmt: skip
    data = {
        "case_type": case_type,
        "code": code,
        "fees": _fees(charges_fee, fees),
        "forms": [
            form
            for form, on in (("window", window), ("online", online), ("express", express))
            if on
        ],
        "materials": materials,
        "online_depth": depth,
    }
    if url is not None:  # left out while unset (schemas.OmitUnset)
        data["online_url"] = url
    data["promised_days"] = promised
    data["situation"] = situation
    data["statutory_days"] = statutory
    data["steps"] = [{"days": days, "name": name} for _id, name, days in steps]
    data["visit_reason"] = reason
    data["visits"] = visits
    return data


def _material(row: Any, attachments: list[Any]) -> dict[str, Any]:
    _handling_id, _id, name, kind, form, copies, necessity, source, notes = row
    fields = {"copies": copies, "form": form, "kind": kind, "name": name,
              "necessity": necessity, "notes": notes, "source": source}  # fmt: skip
    if not attachments:  # left out when there are none (schemas.MaterialSchema)
        return fields
    return {"attachments": [{"filename": filename, "kind": file_kind, "sha256": sha}
                            for _id, file_kind, sha, filename in attachments],
            **fields}  # fmt: skip


ITEM_COLUMNS = (
    ApprovalItem.id, ApprovalItem.code, ApprovalItem.name, ApprovalItem.item_type,
    ApprovalItem.implementing_body, ApprovalItem.handling_unit, ApprovalItem.exercise_level,
    ApprovalItem.power_source, ApprovalItem.service_targets, ApprovalItem.conditions,
    ApprovalItem.result_name, ApprovalItem.result_type, ApprovalItem.consultation,
    ApprovalItem.complaint, ApprovalItem.location, ApprovalItem.hours, ApprovalItem.status,
)  # fmt: skip
HANDLING_COLUMNS = (
    HandlingItem.item_id, HandlingItem.id, HandlingItem.code, HandlingItem.situation,
    HandlingItem.case_type, HandlingItem.statutory_days, HandlingItem.promised_days,
    HandlingItem.visits, HandlingItem.visit_reason, HandlingItem.form_window,
    HandlingItem.form_online, HandlingItem.form_express, HandlingItem.online_depth,
    HandlingItem.charges_fee, HandlingItem.online_url,
)  # fmt: skip
MATERIAL_COLUMNS = (
    Material.handling_item_id, Material.id, Material.name, Material.kind, Material.form,
    Material.copies, Material.necessity, Material.source, Material.notes,
)  # fmt: skip


def _item(row: Any, bases: list[Any], faq: list[Any], handling: list[dict]) -> dict[str, Any]:
    (_id, code, name, item_type, body, unit, level, source, targets, conditions, result_name,
     result_type, consultation, complaint, location, hours, status) = row  # fmt: skip
    data = {
        "code": code,
        "complaint": complaint,
        "conditions": conditions,
        "consultation": consultation,
        "exercise_level": level,
    }
    if faq:  # left out while empty (schemas.OmitUnset)
        data["faq"] = [{"answer": answer, "question": question}
                       for _item_id, question, answer in faq]  # fmt: skip
    data["handling_items"] = handling
    data["handling_unit"] = unit
    data["hours"] = hours
    data["implementing_body"] = body
    data["legal_basis"] = [
        {"article": article, "law": law, "text": text} for _item_id, law, article, text in bases
    ]
    data["location"] = location
    data["name"] = name
    data["power_source"] = source
    data["result"] = {"name": result_name, "type": result_type}
    data["service_targets"] = [str(target) for target in _json(targets) or ()]
    data["status"] = status
    data["type"] = item_type
    return data


def _statements(scope: sa.ColumnElement[bool]) -> dict[str, sa.Select]:
    """The queries of a chunk's items and what hangs off them, for the items `scope` selects
    (by a code range, or by codes): each joined to its item, so no list of ids is sent. Only
    the items' and handling items' own queries test the status: the rows of the others are
    read through the indexes alone (the item's code, the handling item's item_id), and rows of
    an unpublished item or handling item are left unused (-30 % of the database's time)."""
    item = ApprovalItem.__table__
    handling = HandlingItem.__table__
    published = (item.c.status == PUBLISHED, scope)
    handling_published = (*published, handling.c.status == PUBLISHED)
    of_handling = handling.join(item, handling.c.item_id == item.c.id)

    def under_item(table: sa.Table, *columns: str) -> sa.Select:
        return (
            sa.select(table.c.item_id, *(table.c[name] for name in columns))
            .select_from(table.join(item, table.c.item_id == item.c.id))
            .where(scope)
            .order_by(table.c.item_id, table.c.position)
        )

    def under_handling(table: sa.Table, *columns: str) -> sa.Select:
        return (
            sa.select(table.c.handling_item_id, *(table.c[name] for name in columns))
            .select_from(table.join(of_handling, table.c.handling_item_id == handling.c.id))
            .where(scope)
            .order_by(table.c.handling_item_id, table.c.position)
        )

    attachment = MaterialAttachment.__table__
    material = Material.__table__
    return {
        "items": _select(*ITEM_COLUMNS).where(*published).order_by(item.c.code),
        "bases": under_item(LegalBasis.__table__, "law", "article", "text"),
        "faq": under_item(FaqEntry.__table__, "question", "answer"),
        "handling": _select(*HANDLING_COLUMNS)
        .select_from(of_handling)
        .where(*handling_published)
        .order_by(handling.c.item_id, handling.c.position),
        "materials": under_handling(material, *(c.key for c in MATERIAL_COLUMNS[1:])),
        "attachments": sa.select(
            attachment.c.material_id,
            *(_raw(attachment.c[n]) for n in ("kind", "sha256")),
            attachment.c.filename,
        )
        .select_from(
            attachment.join(material, attachment.c.material_id == material.c.id).join(
                of_handling, material.c.handling_item_id == handling.c.id
            )
        )
        .where(scope)
        .order_by(attachment.c.material_id, attachment.c.position),
        "fees": under_handling(Fee.__table__, "name", "standard", "amount", "basis"),
        "steps": under_handling(ProcessStep.__table__, "name", "days"),
    }


_IN_RANGE = _statements(
    ApprovalItem.__table__.c.code.between(sa.bindparam("first"), sa.bindparam("last"))
)
_OF_CODES = _statements(ApprovalItem.__table__.c.code.in_(sa.bindparam("codes", expanding=True)))


def _by_ids() -> dict[str, sa.Select]:
    """PostgreSQL's queries of a round's children: by the ids of the round's items (legal
    bases, FAQ, handling items) or of its published handling items (the rest), an array
    each, read through the indexes on those ids, where the code range's joins walked the
    round's items and handling items again in every query (-40 % of the server's time)."""
    ids = sa.bindparam("ids", type_=sa.ARRAY(sa.Integer))
    handling = HandlingItem.__table__
    material = Material.__table__
    attachment = MaterialAttachment.__table__

    def under(table: sa.Table, key: str, *columns: str) -> sa.Select:
        return (
            sa.select(table.c[key], *(table.c[name] for name in columns))
            .where(table.c[key] == sa.any_(ids))
            .order_by(table.c[key], table.c.position)
        )

    return {
        "bases": under(LegalBasis.__table__, "item_id", "law", "article", "text"),
        "faq": under(FaqEntry.__table__, "item_id", "question", "answer"),
        "handling": _select(*HANDLING_COLUMNS)
        .where(handling.c.item_id == sa.any_(ids), handling.c.status == PUBLISHED)
        .order_by(handling.c.item_id, handling.c.position),
        "materials": under(material, "handling_item_id", *(c.key for c in MATERIAL_COLUMNS[1:])),
        "attachments": sa.select(
            attachment.c.material_id,
            *(_raw(attachment.c[n]) for n in ("kind", "sha256")),
            attachment.c.filename,
        )
        .select_from(attachment.join(material, attachment.c.material_id == material.c.id))
        .where(material.c.handling_item_id == sa.any_(ids))
        .order_by(attachment.c.material_id, attachment.c.position),
        "fees": under(Fee.__table__, "handling_item_id", "name", "standard", "amount", "basis"),
        "steps": under(ProcessStep.__table__, "handling_item_id", "name", "days"),
    }


_BY_IDS = _by_ids()


# What may hang off an item without any row in a catalog (no FAQ, no files, no steps in the
# generated province): its query, one per chunk, is skipped when its table is empty (3 of the
# 8 queries per chunk at 300,000 handling items, each walking the chunk's handling items).
_SPARSE = {"faq": FaqEntry, "attachments": MaterialAttachment, "fees": Fee, "steps": ProcessStep}


def _empty_tables(connection: sa.Connection) -> frozenset[str]:
    return frozenset(
        name for name, model in _SPARSE.items()
        if connection.execute(sa.select(model.id).limit(1)).first() is None
    )  # fmt: skip


_PAGE = _select(*ITEM_COLUMNS).where(ApprovalItem.status == PUBLISHED)
_FIRST_PAGE = _PAGE.order_by(ApprovalItem.code).limit(sa.bindparam("size"))
_NEXT_PAGE = (
    _PAGE.where(ApprovalItem.code > sa.bindparam("after"))
    .order_by(ApprovalItem.code)
    .limit(sa.bindparam("size"))
)
_COMPILED: dict[tuple[int, str], Any] = {}


def _run(connection: Any, dialect: sa.Dialect, statement: sa.Select, params: dict
         ) -> list[tuple]:  # fmt: skip
    """The rows of one of this module's statements as the driver (`connection`: its
    connection) gives them, past SQLAlchemy's result layer (a quarter of the CPU time of a
    snapshot at 300,000 handling items went there); compiled once per database dialect."""
    key = (id(statement), dialect.name)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = statement.compile(dialect=dialect)
    values = compiled.construct_params(params)
    if compiled.positional:
        values = tuple(values[name] for name in compiled.positiontup)
    cursor = connection.cursor()
    try:
        cursor.execute(str(compiled), values)
        return cursor.fetchall()
    finally:
        cursor.close()


_CHILDREN = ("bases", "faq", "handling", "materials", "attachments", "fees", "steps")
# A round of rows: the items' rows (in code order) and, by name, the rows of each table
# under them ([] for an empty table)
Round = tuple[list[Any], dict[str, list[Any]]]


def _chunk_of_items(items: list[Any], rows: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The data of these item rows (in code order) with their published handling items."""
    bases, faq = _grouped(rows["bases"]), _grouped(rows["faq"])
    attachments = _grouped(rows["attachments"])
    fees, steps = _grouped(rows["fees"]), _grouped(rows["steps"])
    materials: dict[int, list[dict]] = defaultdict(list)
    for row in rows["materials"]:
        materials[row[0]].append(_material(row, attachments.get(row[1], [])))
    handling: dict[int, list[dict]] = defaultdict(list)
    for row in rows["handling"]:
        hid = row[1]
        handling[row[0]].append(_handling(row, materials.get(hid, []), fees.get(hid, []),
                                          steps.get(hid, [])))  # fmt: skip
    return [
        _item(row, bases.get(row[0], []), faq.get(row[0], []), handling.get(row[0], []))
        for row in items
    ]


def _rounds(connection: Any, dialect: sa.Dialect, size: int, empty: frozenset[str]
            ) -> Iterator[Round]:  # fmt: skip
    """The rows of every published item, `size` items a round, by keyset on their code."""
    by_ids = dialect.name == "postgresql"
    items = _run(connection, dialect, _FIRST_PAGE, {"size": size})
    while items:
        if by_ids:
            rows = _children_by_ids(connection, dialect, items, empty)
        else:
            params = {"first": items[0][1], "last": items[-1][1]}
            rows = {
                name: [] if name in empty else _run(connection, dialect, _IN_RANGE[name], params)
                for name in _CHILDREN
            }
        yield items, rows
        items = _run(connection, dialect, _NEXT_PAGE, {"after": items[-1][1], "size": size})


def _children_by_ids(connection: Any, dialect: sa.Dialect, items: list[Any],
                     empty: frozenset[str]) -> dict[str, list[Any]]:  # fmt: skip
    """A round's children on PostgreSQL (_BY_IDS): the handling items first, then what
    hangs off them by their ids."""
    rows: dict[str, list[Any]] = {}
    ids = {"ids": [row[0] for row in items]}
    for name in _CHILDREN:
        if name == "materials":  # the first under the handling items
            ids = {"ids": [row[1] for row in rows["handling"]]}
        rows[name] = [] if name in empty else _run(connection, dialect, _BY_IDS[name], ids)
    return rows


def _one_ahead(rounds: Iterator[Round]) -> Iterator[Round]:
    """The rounds, each read in a thread while the one before is built into data: the
    database's work (SQLite's in the driver with Python's lock released; PostgreSQL's in the
    server) runs beside the building, on another core. One round is read ahead, no more (its
    rows: ~10 MB at 1,000 items). The driver's connection is the transaction's own, shared by
    the two threads: psycopg's runs one statement at a time (the snapshot's inserts wait for
    a read in progress); SQLite's is in serialized mode, one call at a time (SQLAlchemy opens
    a file's with check_same_thread off), and reading some tables while inserting in another
    is defined on one connection."""
    with ThreadPoolExecutor(1, thread_name_prefix="snapshot-read") as reader:
        ahead = reader.submit(next, rounds, None)
        try:
            while (current := ahead.result()) is not None:
                ahead = reader.submit(next, rounds, None)
                yield current
        finally:  # the reader done before the transaction goes on (or is rolled back)
            ahead.cancel()
            wait([ahead])


def _threads_allowed(connection: sa.Connection) -> bool:
    """Whether the rounds are read in a thread: not in a gevent worker (deploy/gunicorn.conf.py:
    its threads are greenlets of one core, that a query on SQLite never lets run; the rounds
    are read in turn there), nor on an in-memory SQLite database (SQLAlchemy keeps SQLite's
    same-thread check on for it)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        return False
    url = connection.engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


def published_chunks(
    size: int = CHUNK_ITEMS,
    codes: Iterable[str] | None = None,
    connection: sa.Connection | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Every published item as data (reports.rows.published_catalog() form), in code order,
    `size` items at a time: one chunk in memory at once (and the rows of the next being read).
    `codes`: only those items. `connection`: the one to read on (the session's by default)."""
    connection = connection or db.session.connection()
    empty = _empty_tables(connection)
    if codes is not None:
        wanted = sorted(set(codes))
        for start in range(0, len(wanted), size):
            params = {"codes": wanted[start : start + size]}
            items = connection.execute(_OF_CODES["items"], params).all()
            if items:
                yield _chunk_of_items(items, {
                    name: [] if name in empty else
                    connection.execute(_OF_CODES[name], params).all()
                    for name in _CHILDREN
                })  # fmt: skip
        return
    if connection.dialect.name == "postgresql":
        # PostgreSQL plans each round's joins with a parallel worker or two: started and
        # stopped ~1,600 times, they cost more than the small joins they share (until the
        # transaction ends)
        connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    rounds = _rounds(connection.connection.dbapi_connection, connection.dialect, size, empty)
    if _threads_allowed(connection):
        rounds = _one_ahead(rounds)
    for items, rows in rounds:
        yield _chunk_of_items(items, rows)


def _canonical(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _canonical_built(data: dict[str, Any]) -> bytes:
    """The canonical JSON of an item published_chunks() built: its dicts are built with their
    keys in sorted order (tests/reports/test_frozen.py holds it), so orjson need not sort them
    (-30 % of the time of the JSON of a snapshot)."""
    return orjson.dumps(data)


@contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a whole catalog is read as data: the
    millions of dicts and tuples made and dropped set off collections that each walk every
    object of the process (a sixth of a snapshot's CPU time at 300,000 handling items). The
    data holds no cycle: its memory is freed by reference counting all the same."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _digest_of(text: bytes) -> str:
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def digest(data: dict[str, Any]) -> str:
    """Equal item data, equal digest (keys in any order; blake2b, 128 bits)."""
    return _digest_of(_canonical(data))


def index_of(chunk: list[dict[str, Any]], position: int | None = None) -> list[IndexEntry]:
    where = None if position is None else (position, None, None)
    return [(item["code"], item["name"], digest(item), where) for item in chunk]


def live_index_of(chunk: list[dict[str, Any]]) -> list[IndexEntry]:
    """index_of() a chunk of published_chunks() (its keys already in order)."""
    return [(item["code"], item["name"], _digest_of(_canonical_built(item)), None)
            for item in chunk]  # fmt: skip


def pack(value: Any) -> bytes:
    return zlib.compress(orjson.dumps(value), COMPRESSION)


def unpack(blob: bytes) -> Any:
    return orjson.loads(zlib.decompress(blob))


def store_chunks(snapshot_id: int, chunks: Iterable[list[dict[str, Any]]]) -> int:
    """Write the chunks (of published_chunks()) of a new snapshot, STORED_ITEMS items a row;
    the number of items
    written. Each item is written as JSON once, for its digest and its chunk's data alike, and
    the index says where in the chunk's JSON it is, so one item is read without the others."""
    insert = SnapshotChunk.__table__.insert()
    connection = db.session.connection()
    count = position = 0
    for read in chunks:
        for part in (read[i : i + STORED_ITEMS] for i in range(0, len(read), STORED_ITEMS)):
            texts = [_canonical_built(item) for item in part]
            index, offset = [], 1
            for item, text in zip(part, texts, strict=True):
                index.append((item["code"], item["name"], _digest_of(text), offset,
                              offset + len(text)))  # fmt: skip
                offset += len(text) + 1
            connection.execute(
                insert,
                {"snapshot_id": snapshot_id, "position": position, "items": len(part),
                 "first_code": part[0]["code"], "last_code": part[-1]["code"],
                 "item_index": pack(index),
                 "data": zlib.compress(b"[" + b",".join(texts) + b"]", COMPRESSION)},
            )  # fmt: skip
            position += 1
            count += len(part)
    return count


def _has_item_rows(snapshot: Snapshot) -> bool:
    return db.session.scalar(
        sa.select(SnapshotItem.id).where(SnapshotItem.snapshot_id == snapshot.id).limit(1)
    ) is not None  # fmt: skip


def frozen_chunks(snapshot: Snapshot, positions: Iterable[int] | None = None
                  ) -> Iterator[list[dict[str, Any]]]:  # fmt: skip
    """A snapshot's item data, in code order, a chunk at a time (of the old form: the
    item rows, CHUNK_ITEMS at a time). `positions`: only those chunks."""
    wanted = None if positions is None else set(positions)
    if _has_item_rows(snapshot):
        rows = db.session.execute(
            sa.select(SnapshotItem.data).where(SnapshotItem.snapshot_id == snapshot.id)
            .order_by(SnapshotItem.code).execution_options(yield_per=CHUNK_ITEMS)
        )  # fmt: skip
        for position, partition in enumerate(rows.partitions(CHUNK_ITEMS)):
            if wanted is None or position in wanted:
                yield [data for (data,) in partition]
        return
    query = (
        sa.select(SnapshotChunk.data)
        .where(SnapshotChunk.snapshot_id == snapshot.id)
        .order_by(SnapshotChunk.position)
    )
    if wanted is not None:
        query = query.where(SnapshotChunk.position.in_(sorted(wanted)))
    for (blob,) in db.session.execute(query):
        yield unpack(blob)


INDEX_BATCH = 50  # chunks' indexes fetched at a time (200 items each)


def frozen_index(snapshot: Snapshot) -> Iterator[IndexEntry]:
    """(code, name, digest, where) of every frozen item, in code order."""
    # Read INDEX_BATCH chunks at a time, each batch after the last position read: a comparison
    # walks two indexes at once, and psycopg's default cursor held each whole (+40 MB in a
    # worker at 300,000 items). Batches by key rather than a server-side cursor, whose
    # DECLARE / FETCH / CLOSE round trips were most of a seed comparison's statements (its
    # snapshots have one chunk: one statement).
    after = -1
    while True:
        batch = db.session.execute(
            sa.select(SnapshotChunk.position, SnapshotChunk.item_index)
            .where(SnapshotChunk.snapshot_id == snapshot.id, SnapshotChunk.position > after)
            .order_by(SnapshotChunk.position)
            .limit(INDEX_BATCH)
        ).all()
        # a snapshot has chunks (made since 0025) or item rows (made before), never both: the
        # old form is looked for only when there is no chunk, not before every index read
        if after == -1 and not batch and _has_item_rows(snapshot):
            for position, chunk in enumerate(frozen_chunks(snapshot)):
                yield from index_of(chunk, position)
            return
        for position, blob in batch:
            for code, name, item_digest, start, end in unpack(blob):
                yield code, name, item_digest, (position, start, end)
        if len(batch) < INDEX_BATCH:
            return
        after = batch[-1][0]


def frozen_data(snapshot: Snapshot, entries: Iterable[IndexEntry]) -> dict[str, dict[str, Any]]:
    """The data of some frozen items (entries of frozen_index()), by code: only their chunks
    are read, and of each chunk only their stretch of JSON is parsed."""
    places = {entry[0]: entry[3] for entry in entries if entry[3] is not None}
    positions = {place[0] for place in places.values()}
    if not positions:
        return {}
    if _has_item_rows(snapshot):
        return {item["code"]: item for chunk in frozen_chunks(snapshot, positions)
                for item in chunk if item["code"] in places}  # fmt: skip
    found = {}
    query = (
        sa.select(SnapshotChunk.position, SnapshotChunk.data)
        .where(SnapshotChunk.snapshot_id == snapshot.id)
        .where(SnapshotChunk.position.in_(sorted(positions)))
    )
    wanted: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for code, (position, start, end) in places.items():
        wanted[position].append((code, start, end))
    for position, blob in db.session.execute(query):
        text = zlib.decompress(blob)
        for code, start, end in wanted[position]:
            found[code] = orjson.loads(text[start:end])
    return found


def frozen_items(snapshot: Snapshot) -> Iterator[dict[str, Any]]:
    for chunk in frozen_chunks(snapshot):
        yield from chunk
