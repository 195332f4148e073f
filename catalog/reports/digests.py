"""Each published item's data digest, kept current with the report's sums.

A comparison with the live catalog matches (code, name, digest) of every published item against
a snapshot's index (catalog.reports.snapshots). Computed at request time, that read every
published item's rows and hashed its data: on the seed most of the first comparison's 30-90 ms
(issue 22), at 300,000 handling items about as much CPU as making a snapshot. Here the index is
a table (item_data_digest, migration 0028) that the transaction changing an item rewrites for
that item, at its commit, beside its report sums (aggregates.refresh_items); bulk writes
rebuild it with the sums (aggregates.rebuild). It is right at the revision in
report_sums_state, like the sums, and read only then.

The digest is frozen.digest() of the item's data as frozen.published_chunks() reads it: the
data and the digest a snapshot stores, so equal digests mean equal data on both sides.
"""

from __future__ import annotations

import sqlalchemy as sa

from catalog.enums import Status
from catalog.extensions import db, has_table
from catalog.models import ApprovalItem, item_data_digest, report_sums_state
from catalog.reports.frozen import IndexEntry, digest, index_of, published_chunks

BATCH = 1_000  # items read and written at once (frozen.CHUNK_ITEMS)
_PUBLISHED = ApprovalItem.status == Status.published.value
# Built once: it runs on every first comparison with the live catalog.
_KEPT_AT = sa.select(report_sums_state.c.stamp).where(report_sums_state.c.id == 1)
_INDEX = (
    sa.select(item_data_digest.c.code, item_data_digest.c.name, item_data_digest.c.digest)
    .where(_KEPT_AT.scalar_subquery() == sa.bindparam("stamp"))
    .order_by(item_data_digest.c.code)
)


def available(connection: sa.Connection) -> bool:
    """Whether the database has the table (not one migrated only to a revision before 0028)."""
    return has_table(connection, item_data_digest.name)


def _ids(connection: sa.Connection, *conditions: sa.ColumnElement[bool]) -> dict[str, int]:
    """The ids of the published items that meet the conditions, by code."""
    query = sa.select(ApprovalItem.code, ApprovalItem.id).where(_PUBLISHED, *conditions)
    return dict(connection.execute(query).tuples().all())


def _write(connection: sa.Connection, ids: dict[str, int], codes: list[str] | None) -> None:
    """The rows of these published items (`codes`; None: all), BATCH at a time."""
    for chunk in published_chunks(BATCH, codes=codes, connection=connection):
        connection.execute(
            item_data_digest.insert(),
            [{"item_id": ids[item["code"]], "code": item["code"], "name": item["name"],
              "digest": digest(item)} for item in chunk],
        )  # fmt: skip


def refresh(connection: sa.Connection, item_ids: list[int]) -> None:
    """Replace the rows of these items (changed, added, deleted or unpublished in this
    transaction): a few queries whatever their number (up to aggregates.CHUNK)."""
    if not available(connection):
        return
    connection.execute(item_data_digest.delete().where(item_data_digest.c.item_id.in_(item_ids)))
    ids = _ids(connection, ApprovalItem.id.in_(item_ids))
    if ids:
        _write(connection, ids, list(ids))


def rebuild(connection: sa.Connection) -> None:
    """Every row again from the catalog (with aggregates.rebuild)."""
    if not available(connection):
        return
    connection.execute(item_data_digest.delete())
    _write(connection, _ids(connection), None)


def kept_index(stamp: str) -> list[IndexEntry]:
    """(code, name, digest, None) of every published item, in code order, from the table when
    it is right at revision `stamp` (revision_key()'s) and the session has no change of its
    own; else an empty list (the caller computes the index from the rows: on an empty catalog
    that is as quick). One query: the state is tested in it."""
    if db.session.info.get("catalog_changed"):
        return []
    rows = db.session.connection().execute(_INDEX, {"stamp": stamp})
    return [(code, name, value, None) for code, name, value in rows]


def computed_index() -> list[IndexEntry]:
    """kept_index() computed from the rows (as a comparison did before the table)."""
    return [entry for chunk in published_chunks() for entry in index_of(chunk)]
