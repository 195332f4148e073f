"""the window of each handling unit

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04

service_unit holds each handling unit's window (issue 23 part 2): the unit's name, unique and
written as items write their handling_unit (承办机构, no foreign key: an item may name a unit
without a window record, and a record may precede its items), the window's address, phone,
office hours, a map link and notes (each NULL when unknown: 暂未提供), a version counter
(optimistic locking) and when and by whom it was last saved. Saving one is audited
(audit_event, object_type service_unit). Existing rows are unchanged; `flask seed` adds the
seed's units.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("hours", sa.String(length=500), nullable=True),
        sa.Column("map_url", sa.String(length=500), nullable=True),
        sa.Column("notes", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_unit")),
        sa.UniqueConstraint("name", name=op.f("uq_service_unit_name")),
    )


def downgrade():
    op.drop_table("service_unit")
