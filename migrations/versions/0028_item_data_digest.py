"""each published item's data digest, kept with the report's sums

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-04

The first /reports/compare against the live catalog after a worker starts or the catalog
changes read every published item's rows and hashed its data (the snapshot's form) to match
it against the snapshot's index (issue 22: 40-90 ms on the seed, ~25 s of CPU at 300,000
handling items). item_data_digest keeps (code, name, digest) per published item, replaced in
the transaction that changes the item, with the report's sums (catalog.reports.aggregates).
It is right at the revision in report_sums_state, like the sums: on a catalog with items the
state is cleared here, so the report and the comparison are computed from the rows, as
before, until `flask report-sums rebuild` (or the next bulk write) fills the table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    code = sa.String(50).with_variant(sa.String(50, collation="C"), "postgresql")
    op.create_table(
        "item_data_digest",
        sa.Column("item_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", code, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_data_digest")),
    )
    op.create_index(op.f("ix_item_data_digest_code"), "item_data_digest", ["code"], unique=False)
    # The sums were right without the digests: with items, no longer (an empty catalog's
    # empty digests are right, and its state stays).
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT count(*) FROM approval_item")).scalar():
        connection.execute(sa.text("DELETE FROM report_sums_state"))


def downgrade():
    op.drop_index(op.f("ix_item_data_digest_code"), table_name="item_data_digest")
    op.drop_table("item_data_digest")
