"""files attached to materials: 空白表格 and 示例样表

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04

attachment_blob holds each uploaded file once per content, under its SHA-256 (lowercase hex),
with the media type its content was recognised as, its size and its bytes; in the database, so
that it is in the backups on SQLite and PostgreSQL alike. material_attachment lists the files a
material offers (kind blank / sample, the file name it is downloaded under, its position), by
hash; a blob a material refers to cannot be removed (RESTRICT). Drafts refer to files by hash
in their JSON data. catalog.attachments, docs/attachments.md.

(down_revision is 0018 on the branch that wrote it; 0019 comes between when they are merged.)
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachment_blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_attachment_blob_size_not_negative")),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_attachment_blob")),
    )
    op.create_table(
        "material_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("blank", "sample", name="attachmentkind", native_enum=False,
                    create_constraint=True),
            nullable=False,
        ),  # fmt: skip
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"], ["material.id"],
            name=op.f("fk_material_attachment_material_id_material"), ondelete="CASCADE",
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["sha256"], ["attachment_blob.sha256"],
            name=op.f("fk_material_attachment_sha256_attachment_blob"), ondelete="RESTRICT",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_attachment")),
    )
    op.create_index(
        op.f("ix_material_attachment_material_id"), "material_attachment", ["material_id"]
    )
    op.create_index(op.f("ix_material_attachment_sha256"), "material_attachment", ["sha256"])


def downgrade():
    op.drop_table("material_attachment")
    op.drop_table("attachment_blob")
