"""Report snapshots: the published catalog and its report, frozen under a label. Append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.extensions import db
from catalog.models.catalog import code_column, utcnow


class Snapshot(db.Model):
    __tablename__ = "report_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(50), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(50))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    fingerprint: Mapped[str] = mapped_column(sa.String(80))
    report: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON, deferred=True
    )  # the report document, as computed: read when a page needs it (~0.5 MB at 300,000)
    items: Mapped[list[SnapshotItem]] = relationship(
        back_populates="snapshot", order_by="SnapshotItem.code"
    )


class SnapshotItem(db.Model):
    """One published item as data (with its published handling items) at snapshot time."""

    __tablename__ = "report_snapshot_item"
    __table_args__ = (sa.UniqueConstraint("snapshot_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("report_snapshot.id"), index=True)
    code: Mapped[str] = mapped_column(code_column(50))
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    snapshot: Mapped[Snapshot] = relationship(back_populates="items")


class SnapshotChunk(db.Model):
    """Up to catalog.reports.frozen.CHUNK_ITEMS consecutive items (in code order) of a
    snapshot, as zlib-compressed JSON: their data, and apart from it an index of (code, name,
    digest) per item that a comparison reads without the data. Snapshots frozen before 0025
    have one SnapshotItem row per item instead."""

    __tablename__ = "report_snapshot_chunk"
    __table_args__ = (sa.UniqueConstraint("snapshot_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("report_snapshot.id"), index=True)
    position: Mapped[int]
    items: Mapped[int]
    first_code: Mapped[str] = mapped_column(code_column(50))
    last_code: Mapped[str] = mapped_column(code_column(50))
    item_index: Mapped[bytes] = mapped_column(sa.LargeBinary)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class StoredReport(db.Model):
    """One row: the live report as last computed, with the catalog revision it was computed
    from (catalog.reports.stored). Every worker reads it instead of computing the report again,
    until the next change of the catalog."""

    __tablename__ = "stored_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[str] = mapped_column(sa.String(32))  # catalog_revision.stamp
    document: Mapped[str] = mapped_column(sa.Text)  # the report document as JSON
    computed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


@event.listens_for(Snapshot, "before_update")
@event.listens_for(Snapshot, "before_delete")
@event.listens_for(SnapshotItem, "before_update")
@event.listens_for(SnapshotItem, "before_delete")
@event.listens_for(SnapshotChunk, "before_update")
@event.listens_for(SnapshotChunk, "before_delete")
def _refuse_changing_a_snapshot(_mapper, _connection, target) -> None:
    raise PermissionError(f"{target.__tablename__} {target.id} is never changed after creation")
