"""双公示 decision records (issue 24): licence and penalty decisions, the publication periods
of penalties as data, and the record of ending a penalty's publication early (信用修复)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from catalog.enums import (
    IdType,
    LicenceCategory,
    LicenceStatus,
    PartyClass,
    PenaltyCategory,
    PenaltySeverity,
)
from catalog.extensions import db
from catalog.models.catalog import ApprovalItem, HandlingItem, enum_column, utcnow

# Bounds of the fields (catalog.decisions.operations refuses longer values in Chinese).
MAX_DOCUMENT_NUMBER = 50  # the audit trail names a decision by it (AuditEvent.object_code)
MAX_NAME = 200
MAX_CODE = 18
MAX_ID_NUMBER = 30
MAX_PERSON = 50
MAX_AUTHORITY = 100
MAX_TEXT = 4000
AMOUNT = sa.Numeric(16, 6)  # 万元, to the yuan cent and below


class DecisionMixin:
    """What a licence and a penalty decision share: the document, the party, the authority,
    the dates of decision and publication, and when it had to be published to be on time."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # indexed for the import's duplicate checks (document_number IN (…): migration 0038)
    document_number: Mapped[str] = mapped_column(sa.String(MAX_DOCUMENT_NUMBER), index=True)
    # not indexed: no statement looks a party up by its name (0038; the search: its grams)
    party_name: Mapped[str] = mapped_column(sa.String(MAX_NAME))
    party_class: Mapped[PartyClass] = mapped_column(enum_column(PartyClass))
    party_credit_code: Mapped[str | None] = mapped_column(sa.String(MAX_CODE), index=True)
    legal_representative: Mapped[str | None] = mapped_column(sa.String(MAX_PERSON))
    party_id_type: Mapped[IdType | None] = mapped_column(enum_column(IdType))
    # indexed for the staff list's search by a whole ID number (migration 0040)
    party_id_number: Mapped[str | None] = mapped_column(sa.String(MAX_ID_NUMBER), index=True)
    decided_on: Mapped[date] = mapped_column(sa.Date)  # indexed with id: _shared_table_args
    authority: Mapped[str] = mapped_column(sa.String(MAX_AUTHORITY))
    authority_credit_code: Mapped[str] = mapped_column(sa.String(MAX_CODE))
    data_source_unit: Mapped[str] = mapped_column(sa.String(MAX_AUTHORITY))  # ix_*_unit_order
    published_on: Mapped[date] = mapped_column(sa.Date)
    # the last on-time publication day: decided_on + 7 working days (catalog.decisions.rules)
    publish_by: Mapped[date] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    updated_by: Mapped[str] = mapped_column(sa.String(50))

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}

    @property
    def on_time(self) -> bool:
        return self.published_on <= self.publish_by


LATE = "published_on > publish_by"


def _shared_table_args(table: str, counted: tuple[str, ...]) -> tuple[sa.SchemaItem, ...]:
    """The checks both kinds hold, and the indexes of the public list's order (newest decision
    first, then id: migration 0034), of that order within a unit (with what a count checks:
    the days, and the kind's `counted` columns, migration 0045) and of the late decisions
    (migration 0038). The search's own indexes are the migrations' alone (SQLite FTS5 tables,
    PostgreSQL's search_grams column): catalog.decisions.search."""
    return (
        sa.CheckConstraint("decided_on <= published_on", name="decided_before_published"),
        sa.CheckConstraint("publish_by > decided_on", name="publish_by_after_decision"),
        sa.Index(f"ix_{table}_order", "decided_on", "id"),
        sa.Index(
            f"ix_{table}_unit_order",
            "data_source_unit",
            "decided_on",
            "id",
            "published_on",
            "publish_by",
            *counted,
        ),
        sa.Index(
            f"ix_{table}_late",
            "decided_on",
            "id",
            "data_source_unit",
            "published_on",
            "publish_by",
            sqlite_where=sa.text(LATE),
            postgresql_where=sa.text(LATE),
        ),
        # the decisions not yet public (published_on > today: few) for the report's counts of
        # what its links cannot show (catalog.decisions.unlisted; migration 0039)
        sa.Index(f"ix_{table}_published_on", "published_on"),
    )


class LicenceDecision(DecisionMixin, db.Model):
    """行政许可决定: one licence granted (or changed, revoked, cancelled) under a licence item."""

    __tablename__ = "licence_decision"
    __table_args__ = (
        sa.UniqueConstraint("authority", "document_number"),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_from <= valid_until", name="valid_in_order"
        ),
        *_shared_table_args("licence_decision", ("status",)),
    )

    item_id: Mapped[int] = mapped_column(sa.ForeignKey("approval_item.id"), index=True)
    handling_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("handling_item.id"))
    category: Mapped[LicenceCategory] = mapped_column(enum_column(LicenceCategory))
    certificate_name: Mapped[str | None] = mapped_column(sa.String(MAX_NAME))
    certificate_number: Mapped[str | None] = mapped_column(sa.String(MAX_NAME))
    content: Mapped[str] = mapped_column(sa.Text)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)  # None: 长期
    status: Mapped[LicenceStatus] = mapped_column(
        enum_column(LicenceStatus), default=LicenceStatus.valid
    )

    item: Mapped[ApprovalItem] = relationship()
    handling_item: Mapped[HandlingItem | None] = relationship()


class PenaltyDecision(DecisionMixin, db.Model):
    """行政处罚决定: one penalty, published until its publication_ends_on (公示截止日期) or until
    ended early (信用修复, CreditRepair)."""

    __tablename__ = "penalty_decision"
    __table_args__ = (
        sa.UniqueConstraint("authority", "document_number"),
        sa.CheckConstraint("fine_amount >= 0", name="fine_not_negative"),
        sa.CheckConstraint("confiscated_amount >= 0", name="confiscated_not_negative"),
        sa.CheckConstraint("published_on <= publication_ends_on", name="published_before_end"),
        *_shared_table_args("penalty_decision", ("category", "publication_ends_on")),
    )

    violation_type: Mapped[str] = mapped_column(sa.String(MAX_NAME))
    violation_facts: Mapped[str] = mapped_column(sa.Text)
    legal_basis: Mapped[str] = mapped_column(sa.Text)
    category: Mapped[PenaltyCategory] = mapped_column(enum_column(PenaltyCategory))
    content: Mapped[str] = mapped_column(sa.Text)
    fine_amount: Mapped[Decimal | None] = mapped_column(AMOUNT)  # 万元
    confiscated_amount: Mapped[Decimal | None] = mapped_column(AMOUNT)  # 万元
    affected_licence: Mapped[str | None] = mapped_column(sa.String(MAX_NAME))  # 暂扣或吊销的证件
    severity: Mapped[PenaltySeverity] = mapped_column(enum_column(PenaltySeverity))
    publication_ends_on: Mapped[date] = mapped_column(sa.Date, index=True)

    credit_repair: Mapped[CreditRepair | None] = relationship(back_populates="penalty")


class CreditRepair(db.Model):
    """信用修复: a penalty's publication ended before its 公示截止日期, by whom, when and why.
    One per penalty; kept forever (the penalty stays visible to staff)."""

    __tablename__ = "credit_repair"

    id: Mapped[int] = mapped_column(primary_key=True)
    penalty_id: Mapped[int] = mapped_column(sa.ForeignKey("penalty_decision.id"), unique=True)
    ended_on: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.Text)
    recorded_by: Mapped[str] = mapped_column(sa.String(50))
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    penalty: Mapped[PenaltyDecision] = relationship(back_populates="credit_repair")


class PublicationPeriod(db.Model):
    """How long a penalty of a severity is published, from `effective_from` on (data, not
    code): the rule in force on a decision's date applies. Migration 0029 writes the default,
    发改办财金〔2019〕527号 (general 3-12 months, serious 6-36 months)."""

    __tablename__ = "publication_period"
    __table_args__ = (
        sa.UniqueConstraint("severity", "effective_from"),
        sa.CheckConstraint("min_months >= 0", name="min_not_negative"),
        sa.CheckConstraint("min_months <= max_months", name="min_within_max"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    severity: Mapped[PenaltySeverity] = mapped_column(enum_column(PenaltySeverity))
    effective_from: Mapped[date] = mapped_column(sa.Date)
    min_months: Mapped[int]
    max_months: Mapped[int]
    source: Mapped[str] = mapped_column(sa.String(MAX_NAME))


# The 双公示 report's figures, kept in the transaction that changes decisions
# (catalog.decisions.sums; migration 0039): one row per (year of the decision, data source unit,
# kind, licence item or penalty category, on time, month the penalty's publication ends, ended
# early by a credit repair) with how many decisions and their amounts in millionths of 万元
# (exact integers on both databases). The report reads these rows instead of the decisions.
decision_sums = sa.Table(
    "decision_sums",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("unit", sa.String(MAX_AUTHORITY), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),  # licence | penalty
    sa.Column("item_id", sa.Integer, nullable=False),  # a licence's item; 0 for a penalty
    sa.Column("category", sa.String(30), nullable=False),  # a penalty's 处罚类别; "" for a licence
    sa.Column("on_time", sa.Boolean, nullable=False),
    sa.Column("ends_month", sa.Integer, nullable=False),  # a penalty's end, yyyymm; 0 licence
    sa.Column("repaired", sa.Boolean, nullable=False),  # a penalty's credit repair
    sa.Column("decisions", sa.BigInteger, nullable=False),
    sa.Column("fine_micros", sa.BigInteger, nullable=False),
    sa.Column("confiscated_micros", sa.BigInteger, nullable=False),
    sa.UniqueConstraint(
        "year", "unit", "kind", "item_id", "category", "on_time", "ends_month", "repaired",
        name="uq_decision_sums_key",
    ),
    # the year's licences per item, of every unit (covering: read without the table's rows),
    # and "is this item decided under" for each offered item
    sa.Index("ix_decision_sums_item", "year", "kind", "item_id", "decisions"),
)  # fmt: skip
