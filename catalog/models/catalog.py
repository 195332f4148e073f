"""The catalog's tables: approval items, their handling items, and what hangs off them."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.orderinglist import ordering_list
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.enums import (
    CaseType,
    ExerciseLevel,
    HandlingForm,
    ItemType,
    MaterialForm,
    MaterialKind,
    MaterialSource,
    Necessity,
    PowerSource,
    ResultType,
    Status,
)
from catalog.extensions import db

if TYPE_CHECKING:
    from catalog.models.attachments import MaterialAttachment
    from catalog.models.drafts import ItemDraft
    from catalog.models.search import SearchEntry


def utcnow() -> datetime:
    return datetime.now(UTC)


def code_column(length: int) -> sa.String:
    """A code: an identifier, compared and ordered by its characters on both databases, as
    Python orders them: SQLite's default (BINARY), and on PostgreSQL the "C" collation, whatever
    the database's own (under en-US, "a-1" sorts before "B-1"; the live report, its lists and
    its fingerprint must order codes as the frozen rows of a snapshot are ordered in Python)."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def enum_column(enum_class: type[enum.Enum]) -> sa.Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, storing the value."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
        name=enum_class.__name__.lower(),
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ApprovalItem(TimestampMixin, db.Model):
    """事项: one power the bureau exercises, with its type and legal basis."""

    __tablename__ = "approval_item"
    # the search frame reads the published items by unit and type from this index alone (on
    # PostgreSQL with the id it includes; SQLite's indexes hold the id anyway)
    __table_args__ = (
        sa.Index(
            "ix_approval_item_facets", "status", "handling_unit", "item_type",
            postgresql_include=["id"],
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(code_column(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    item_type: Mapped[ItemType] = mapped_column(enum_column(ItemType), index=True)
    # The elements below may be missing (NULL, or an empty list): catalog.elements (0018).
    implementing_body: Mapped[str | None] = mapped_column(sa.String(100))
    handling_unit: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    exercise_level: Mapped[ExerciseLevel | None] = mapped_column(enum_column(ExerciseLevel))
    power_source: Mapped[PowerSource | None] = mapped_column(enum_column(PowerSource))
    # A list of ServiceTarget values; JSON keeps it one column on SQLite and PostgreSQL.
    service_targets: Mapped[list[str]] = mapped_column(sa.JSON)
    conditions: Mapped[str | None] = mapped_column(sa.Text)
    result_name: Mapped[str | None] = mapped_column(sa.String(200))
    result_type: Mapped[ResultType | None] = mapped_column(enum_column(ResultType))
    consultation: Mapped[str | None] = mapped_column(sa.Text)
    complaint: Mapped[str | None] = mapped_column(sa.Text)
    location: Mapped[str | None] = mapped_column(sa.Text)
    hours: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[Status] = mapped_column(
        enum_column(Status), default=Status.unpublished, index=True
    )
    version: Mapped[int] = mapped_column(default=1)

    legal_bases: Mapped[list[LegalBasis]] = relationship(
        back_populates="item",
        order_by="LegalBasis.position",
        collection_class=ordering_list("position"),
        cascade="all, delete-orphan",
    )
    handling_items: Mapped[list[HandlingItem]] = relationship(
        back_populates="item",
        order_by="HandlingItem.position",
        collection_class=ordering_list("position"),
        cascade="all, delete-orphan",
    )
    draft: Mapped[ItemDraft | None] = relationship(
        back_populates="item", cascade="all, delete-orphan", single_parent=True
    )
    faq: Mapped[list[FaqEntry]] = relationship(
        back_populates="item",
        order_by="FaqEntry.position",
        collection_class=ordering_list("position"),
        cascade="all, delete-orphan",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def result(self) -> dict[str, str | ResultType | None]:
        """审批结果 as one value: its name and type."""
        return {"name": self.result_name, "type": self.result_type}

    def __repr__(self) -> str:
        return f"<ApprovalItem {self.code} {self.name}>"


class LegalBasis(db.Model):
    """设定依据: one law and article an item rests on."""

    __tablename__ = "legal_basis"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("approval_item.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    law: Mapped[str] = mapped_column(sa.String(200))
    article: Mapped[str | None] = mapped_column(sa.String(100))
    text: Mapped[str | None] = mapped_column(sa.Text)

    item: Mapped[ApprovalItem] = relationship(back_populates="legal_bases")


class FaqEntry(db.Model):
    """常见问题: one question and its answer on an item's guide, in order (0019)."""

    __tablename__ = "faq_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("approval_item.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    question: Mapped[str] = mapped_column(sa.String(200))
    answer: Mapped[str] = mapped_column(sa.Text)

    item: Mapped[ApprovalItem] = relationship(back_populates="faq")


class HandlingItem(TimestampMixin, db.Model):
    """业务办理项: one concrete way to apply, with its own limits, visits, materials and fees."""

    __tablename__ = "handling_item"
    __table_args__ = (
        sa.CheckConstraint("promised_days >= 0", name="promised_not_negative"),
        sa.CheckConstraint(
            "statutory_days IS NULL OR statutory_days >= 0", name="statutory_not_negative"
        ),
        sa.CheckConstraint(
            "statutory_days IS NULL OR promised_days <= statutory_days",
            name="promised_within_statutory",
        ),
        sa.CheckConstraint("visits BETWEEN 0 AND 2", name="visits_range"),
        # a visit's reason, when given, is not blank (a missing one is a gap: 0018)
        sa.CheckConstraint(
            "visits = 0 OR visit_reason IS NULL OR trim(visit_reason) <> ''",
            name="visit_reason_not_blank",
        ),
        sa.CheckConstraint(
            "case_type <> 'instant' OR promised_days = 0", name="instant_promised_zero"
        ),
        sa.CheckConstraint("online_depth BETWEEN 1 AND 7", name="online_depth_range"),
        # the search frame reads the published handling items by their flags from this alone
        # (as above, with the id on PostgreSQL; there, ids in code order come from
        # ix_handling_item_code_id, migration 0011)
        sa.Index(
            "ix_handling_item_facets",
            *("status", "visits", "case_type", "charges_fee", "item_id"),
            postgresql_include=["id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("approval_item.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(code_column(50), unique=True)
    situation: Mapped[str | None] = mapped_column(sa.String(100))  # may be missing (0018)
    case_type: Mapped[CaseType] = mapped_column(enum_column(CaseType))
    # Working days; None means the law sets no limit (无期限).
    statutory_days: Mapped[int | None]
    promised_days: Mapped[int]
    visits: Mapped[int]
    visit_reason: Mapped[str | None] = mapped_column(sa.Text)
    form_window: Mapped[bool] = mapped_column(default=False)
    form_online: Mapped[bool] = mapped_column(default=False)
    form_express: Mapped[bool] = mapped_column(default=False)
    online_depth: Mapped[int | None]  # may be missing (0018)
    # Explicit "no fee" (不收费): False with no fee rows; True with at least one; None: not
    # provided (0018).
    charges_fee: Mapped[bool | None]
    # 在线办理地址: where to apply online, an http(s) URL (catalog.links); None: none given (0019)
    online_url: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[Status] = mapped_column(
        enum_column(Status), default=Status.unpublished, index=True
    )
    version: Mapped[int] = mapped_column(default=1)

    item: Mapped[ApprovalItem] = relationship(back_populates="handling_items")
    materials: Mapped[list[Material]] = relationship(
        back_populates="handling_item",
        order_by="Material.position",
        collection_class=ordering_list("position"),
        cascade="all, delete-orphan",
    )
    fees: Mapped[list[Fee]] = relationship(
        back_populates="handling_item",
        order_by="Fee.position",
        collection_class=ordering_list("position"),
        cascade="all, delete-orphan",
    )
    steps: Mapped[list[ProcessStep]] = relationship(
        back_populates="handling_item",
        order_by="ProcessStep.position",
        collection_class=ordering_list("position"),
        cascade="all, delete-orphan",
    )

    search_entry: Mapped[SearchEntry | None] = relationship(
        back_populates="handling_item", cascade="all, delete-orphan", single_parent=True
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def forms(self) -> list[HandlingForm]:
        flags = {
            HandlingForm.window: self.form_window,
            HandlingForm.online: self.form_online,
            HandlingForm.express: self.form_express,
        }
        return [form for form, enabled in flags.items() if enabled]

    @forms.setter
    def forms(self, forms: list[HandlingForm] | list[str]) -> None:
        chosen = {HandlingForm(form) for form in forms}
        self.form_window = HandlingForm.window in chosen
        self.form_online = HandlingForm.online in chosen
        self.form_express = HandlingForm.express in chosen

    def __repr__(self) -> str:
        return f"<HandlingItem {self.code} {self.situation}>"


class Material(db.Model):
    """申请材料 of one handling item."""

    __tablename__ = "material"
    __table_args__ = (sa.CheckConstraint("copies >= 0", name="copies_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handling_item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("handling_item.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[MaterialKind] = mapped_column(enum_column(MaterialKind))
    form: Mapped[MaterialForm] = mapped_column(enum_column(MaterialForm))
    copies: Mapped[int]
    necessity: Mapped[Necessity] = mapped_column(enum_column(Necessity))
    source: Mapped[MaterialSource] = mapped_column(enum_column(MaterialSource))
    notes: Mapped[str | None] = mapped_column(sa.Text)

    handling_item: Mapped[HandlingItem] = relationship(back_populates="materials")
    # 空白表格 / 示例样表 (catalog.models.attachments, catalog.attachments)
    attachments: Mapped[list[MaterialAttachment]] = relationship(
        back_populates="material",
        order_by="MaterialAttachment.position",
        collection_class=ordering_list("position"),
        cascade="all, delete-orphan",
    )

    @property
    def attachment_data(self) -> list[dict[str, str]]:
        """The attachments as an item's data holds them: [{kind, sha256, filename}]."""
        return [attachment.as_data() for attachment in self.attachments]

    @attachment_data.setter
    def attachment_data(self, rows: list[dict[str, Any]]) -> None:
        from catalog.models.attachments import MaterialAttachment

        self.attachments = [
            MaterialAttachment(
                position=i, kind=row["kind"], sha256=row["sha256"], filename=row["filename"]
            )
            for i, row in enumerate(rows or [])
        ]


class Fee(db.Model):
    """收费项目 of one handling item; always with the basis that allows it."""

    __tablename__ = "fee"
    __table_args__ = (
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint("trim(basis) <> ''", name="basis_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handling_item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("handling_item.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))
    standard: Mapped[str] = mapped_column(sa.Text)
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    basis: Mapped[str] = mapped_column(sa.Text)

    handling_item: Mapped[HandlingItem] = relationship(back_populates="fees")


class ProcessStep(db.Model):
    """办理流程: one step of a handling item, with its working days."""

    __tablename__ = "process_step"
    __table_args__ = (sa.CheckConstraint("days IS NULL OR days >= 0", name="days_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handling_item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("handling_item.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(100))
    days: Mapped[int | None]

    handling_item: Mapped[HandlingItem] = relationship(back_populates="steps")


class SeedLoad(db.Model):
    """What the seed last wrote for an item, so a re-run can tell staff edits from seed changes."""

    __tablename__ = "seed_load"

    item_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    # Digest of the seed record as last loaded, and of the item as that load left it.
    seed_digest: Mapped[str] = mapped_column(sa.String(64))
    content_digest: Mapped[str] = mapped_column(sa.String(64))
    loaded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class CatalogRevision(db.Model):
    """One row: a random stamp, replaced in the same transaction as every change of the
    catalog's content (catalog.revision), so caches check it with one single-row read."""

    __tablename__ = "catalog_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[str] = mapped_column(sa.String(32))
    changed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
