"""import mappings saved under a source name

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

import_mapping holds the header mappings made on the upload page (issue 21): a source name
(unique, as staff enter it, e.g. "某某县交通运输局 2026 目录"), its mapping of header -> field
or "ignore" (the shape of a --mapping file) as JSON, and when and by whom it was last saved.
Saving one is audited (audit_event, object_type import_mapping); no table refers to it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=50), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mapping")),
        sa.UniqueConstraint("source_name", name=op.f("uq_import_mapping_source_name")),
    )


def downgrade():
    op.drop_table("import_mapping")
