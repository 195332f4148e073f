"""双公示 decision records

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04

Issue 24, the records: licence_decision (行政许可决定, under a licence item of the catalog and
maybe one of its handling items) and penalty_decision (行政处罚决定), each with its document
number unique per authority, its party (an organisation's credit code, a natural person's ID
number), its dates of decision and publication and publish_by (the last on-time day: 7 working
days after the decision, computed by the app from the holiday calendar); credit_repair (信用修复:
a penalty's publication ended early, by whom, when and why, one per penalty); and
publication_period (how long a penalty is published, by severity, as data), written here with
its default, the rule of 发改办财金〔2019〕527号 in force from 2019-07-01 (general: 3 to 12 months,
serious: 6 to 36 months). CHECK constraints hold what the database can hold: amounts not
negative, dates in order, the enumerations. Existing rows are untouched.
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

SOURCE_527 = "发改办财金〔2019〕527号"
DEFAULT_PERIODS = [
    {"severity": "general", "effective_from": date(2019, 7, 1), "min_months": 3,
     "max_months": 12, "source": SOURCE_527},
    {"severity": "serious", "effective_from": date(2019, 7, 1), "min_months": 6,
     "max_months": 36, "source": SOURCE_527},
]  # fmt: skip


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def _party_and_dates(table):
    """The columns and checks a licence and a penalty decision share (DecisionMixin)."""
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_number", sa.String(length=50), nullable=False),
        sa.Column("party_name", sa.String(length=200), nullable=False),
        sa.Column("party_class", _enum("partyclass", "organisation", "sole_trader",
                                       "natural_person"), nullable=False),
        sa.Column("party_credit_code", sa.String(length=18), nullable=True),
        sa.Column("legal_representative", sa.String(length=50), nullable=True),
        sa.Column("party_id_type", _enum("idtype", "resident_id", "passport", "hk_macao_permit",
                                         "taiwan_permit", "foreign_permanent"), nullable=True),
        sa.Column("party_id_number", sa.String(length=30), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("authority", sa.String(length=100), nullable=False),
        sa.Column("authority_credit_code", sa.String(length=18), nullable=False),
        sa.Column("data_source_unit", sa.String(length=100), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("publish_by", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=50), nullable=False),
        sa.CheckConstraint("decided_on <= published_on",
                           name=op.f(f"ck_{table}_decided_before_published")),
        sa.CheckConstraint("publish_by > decided_on",
                           name=op.f(f"ck_{table}_publish_by_after_decision")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("authority", "document_number", name=op.f(f"uq_{table}_authority")),
    ]  # fmt: skip


def _indexes(table, columns):
    with op.batch_alter_table(table) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade():
    op.create_table(
        "penalty_decision",
        sa.Column("violation_type", sa.String(length=200), nullable=False),
        sa.Column("violation_facts", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("category", _enum("penaltycategory", "warning", "criticism", "fine",
                                    "confiscation", "licence_suspension", "business_suspension",
                                    "other"), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("fine_amount", sa.Numeric(precision=16, scale=6), nullable=True),
        sa.Column("confiscated_amount", sa.Numeric(precision=16, scale=6), nullable=True),
        sa.Column("affected_licence", sa.String(length=200), nullable=True),
        sa.Column("severity", _enum("penaltyseverity", "general", "serious"), nullable=False),
        sa.Column("publication_ends_on", sa.Date(), nullable=False),
        *_party_and_dates("penalty_decision"),
        sa.CheckConstraint("confiscated_amount >= 0",
                           name=op.f("ck_penalty_decision_confiscated_not_negative")),
        sa.CheckConstraint("fine_amount >= 0", name=op.f("ck_penalty_decision_fine_not_negative")),
        sa.CheckConstraint("published_on <= publication_ends_on",
                           name=op.f("ck_penalty_decision_published_before_end")),
    )  # fmt: skip
    _indexes(
        "penalty_decision",
        ["data_source_unit", "decided_on", "party_credit_code", "party_name",
         "publication_ends_on"],
    )  # fmt: skip
    periods = op.create_table(
        "publication_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("severity", _enum("penaltyseverity", "general", "serious"), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("min_months", sa.Integer(), nullable=False),
        sa.Column("max_months", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.CheckConstraint("min_months <= max_months",
                           name=op.f("ck_publication_period_min_within_max")),
        sa.CheckConstraint("min_months >= 0", name=op.f("ck_publication_period_min_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_period")),
        sa.UniqueConstraint("severity", "effective_from",
                            name=op.f("uq_publication_period_severity")),
    )  # fmt: skip
    op.bulk_insert(periods, DEFAULT_PERIODS)
    op.create_table(
        "credit_repair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("penalty_id", sa.Integer(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=50), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["penalty_id"], ["penalty_decision.id"],
                                name=op.f("fk_credit_repair_penalty_id_penalty_decision")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_repair")),
        sa.UniqueConstraint("penalty_id", name=op.f("uq_credit_repair_penalty_id")),
    )  # fmt: skip
    op.create_table(
        "licence_decision",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("handling_item_id", sa.Integer(), nullable=True),
        sa.Column("category", _enum("licencecategory", "ordinary", "franchise", "accreditation",
                                    "approval", "registration", "other"), nullable=False),
        sa.Column("certificate_name", sa.String(length=200), nullable=True),
        sa.Column("certificate_number", sa.String(length=200), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", _enum("licencestatus", "valid", "revoked", "cancelled", "changed"),
                  nullable=False),
        *_party_and_dates("licence_decision"),
        sa.CheckConstraint("valid_until IS NULL OR valid_from <= valid_until",
                           name=op.f("ck_licence_decision_valid_in_order")),
        sa.ForeignKeyConstraint(["handling_item_id"], ["handling_item.id"],
                                name=op.f("fk_licence_decision_handling_item_id_handling_item")),
        sa.ForeignKeyConstraint(["item_id"], ["approval_item.id"],
                                name=op.f("fk_licence_decision_item_id_approval_item")),
    )  # fmt: skip
    _indexes(
        "licence_decision",
        ["data_source_unit", "decided_on", "item_id", "party_credit_code", "party_name"],
    )


def downgrade():
    op.drop_table("licence_decision")
    op.drop_table("credit_repair")
    op.drop_table("publication_period")
    op.drop_table("penalty_decision")
