"""Files attached to materials: 空白表格 and 示例样表 (catalog.attachments).

A file is stored once per content, under its SHA-256 (attachment_blob), in the database, so it
lives in the backups and on both databases; a material refers to it by hash with the name it
is offered under and its kind (material_attachment).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from catalog.enums import AttachmentKind
from catalog.extensions import db
from catalog.models.catalog import enum_column, utcnow

if TYPE_CHECKING:
    from catalog.models.catalog import Material


class AttachmentBlob(db.Model):
    """One stored file, by its content: never changed, removed only when nothing refers to it
    (flask attachments prune)."""

    __tablename__ = "attachment_blob"
    __table_args__ = (sa.CheckConstraint("size >= 0", name="size_not_negative"),)

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # lowercase hex
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    # loaded only when the file itself is served
    data: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary, nullable=False))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class MaterialAttachment(db.Model):
    """A file offered beside a material: its kind, the name it is downloaded under, its blob."""

    __tablename__ = "material_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(
        sa.ForeignKey("material.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[AttachmentKind] = mapped_column(enum_column(AttachmentKind))
    # RESTRICT: a blob a material refers to cannot be removed
    sha256: Mapped[str] = mapped_column(
        sa.ForeignKey("attachment_blob.sha256", ondelete="RESTRICT"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))

    material: Mapped[Material] = relationship(back_populates="attachments")
    blob: Mapped[AttachmentBlob] = relationship(lazy="joined", innerjoin=True)

    def as_data(self) -> dict[str, str]:
        """The reference as an item's data holds it (catalog.schemas.AttachmentSchema)."""
        return {"kind": self.kind.value, "sha256": self.sha256, "filename": self.filename}
