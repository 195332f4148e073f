"""stored report

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

The live report kept in the database for the catalog revision it was computed from (one row):
at province scale computing it takes seconds, and each worker computed it for itself after every
change and after every restart (gunicorn recycles its workers); now the first computes it and
the others read it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stored_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_report")),
    )


def downgrade():
    op.drop_table("stored_report")
