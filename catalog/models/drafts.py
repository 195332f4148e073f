"""An item's pending revision (草稿), edited and reviewed before it is published
(catalog.operations.items, docs/review.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.enums import ReviewState
from catalog.extensions import db
from catalog.models.catalog import enum_column, utcnow

if TYPE_CHECKING:
    from catalog.models.catalog import ApprovalItem


class ItemDraft(db.Model):
    """An item's pending revision (草稿): the whole item as data, edited by staff and reviewed
    before it is published into the item's rows. The public site and the report read the rows
    only. States and who moves a revision between them: catalog.operations.items, docs/review.md.
    """

    __tablename__ = "item_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("approval_item.id", ondelete="CASCADE"), unique=True
    )
    data: Mapped[dict] = mapped_column(sa.JSON)  # the whole item, as services.item_data() shapes it
    base_version: Mapped[int]  # the item's version the draft was started from
    state: Mapped[ReviewState] = mapped_column(
        enum_column(ReviewState), default=ReviewState.draft, server_default="draft"
    )
    author: Mapped[str] = mapped_column(sa.String(50))  # who saved it last
    reason: Mapped[str] = mapped_column(sa.Text)
    # everyone who saved a change into it: none of them may publish it (four eyes)
    contributors: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # the policy warnings acknowledged on saving: {"code", "rule", "by", "at"}
    acknowledgements: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    submitted_by: Mapped[str | None] = mapped_column(sa.String(50))
    submitted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # the reviewer's note when it was returned, and who returned it
    review_note: Mapped[str | None] = mapped_column(sa.Text)
    reviewed_by: Mapped[str | None] = mapped_column(sa.String(50))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    item: Mapped[ApprovalItem] = relationship(back_populates="draft")

    __mapper_args__ = {"version_id_col": version}
