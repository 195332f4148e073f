"""the report's sums, kept current by every change of the catalog

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-04

The first report after a change read the whole catalog four times and streamed every row into
a sha256 (4.1-5.2 s at 300,000 handling items, issue 22). These tables hold what the report
sums, kept current in the transaction that changes the catalog (catalog.reports.aggregates):
report_item_sums (one row per item in scope: its contribution), report_group_sums (their sums
per item type x handling unit), report_exception (the handling items that break a policy rule)
and report_sums_state (the catalog revision they are right at). They start empty, with no
state (unless the catalog is empty): the report is computed from the rows, as before, until
`flask report-sums rebuild` (or the next bulk write) fills them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

ELEMENT_COLUMNS = (
    "implementing_body", "handling_unit", "exercise_level", "power_source", "service_targets",
    "legal_basis", "conditions", "result_name", "result_type", "consultation", "complaint",
    "location", "hours", "situation", "visit_reason", "forms", "online_depth", "fees",
    "materials", "steps",
)  # fmt: skip
MEASURE_COLUMNS = (
    "items", "handling_items", "instant", "no_visit", "at_most_one_visit", "online_capable",
    "fully_online", "limited", "statutory_days", "promised_days", "complete",
    *(f"missing_{name}" for name in ELEMENT_COLUMNS),
    *(f"digest_{part}" for part in range(8)),
)  # fmt: skip


def _measures():
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in MEASURE_COLUMNS]


def upgrade():
    code = sa.String(50).with_variant(sa.String(50, collation="C"), "postgresql")
    op.create_table(
        "report_item_sums",
        sa.Column("item_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("item_type", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_report_item_sums")),
    )
    op.create_table(
        "report_group_sums",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_type", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_group_sums")),
        sa.UniqueConstraint("item_type", "unit", name=op.f("uq_report_group_sums_item_type")),
    )
    op.create_table(
        "report_exception",
        sa.Column("handling_item_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("item_type", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("code", code, nullable=False),
        sa.Column("rules", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("handling_item_id", name=op.f("pk_report_exception")),
    )
    op.create_index(
        op.f("ix_report_exception_item_id"), "report_exception", ["item_id"], unique=False
    )
    op.create_table(
        "report_sums_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_sums_state")),
    )
    # An empty catalog has its (empty) sums already: right at its revision.
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT count(*) FROM approval_item")).scalar() == 0:
        stamp = connection.execute(sa.text("SELECT stamp FROM catalog_revision WHERE id = 1"))
        connection.execute(
            sa.text("INSERT INTO report_sums_state (id, stamp) VALUES (1, :stamp)"),
            {"stamp": stamp.scalar() or ""},
        )


def downgrade():
    op.drop_table("report_sums_state")
    op.drop_index(op.f("ix_report_exception_item_id"), table_name="report_exception")
    op.drop_table("report_exception")
    op.drop_table("report_group_sums")
    op.drop_table("report_item_sums")
