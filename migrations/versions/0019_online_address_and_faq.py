"""an online-handling address per handling item and the FAQ of an item

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04

Two optional elements of the guide (issue 23 part 2): handling_item.online_url, the 在线办理
address (an http(s) URL of at most 500 characters, checked by catalog.links; NULL: none given),
and faq_entry, an item's 常见问题 as ordered question/answer rows (catalog.schemas). Existing
rows are unchanged: every handling item has no address and every item no FAQ. Both are plain
additions (ALTER TABLE ADD COLUMN, CREATE TABLE) on SQLite and PostgreSQL alike.

The downgrade stops, changing nothing and naming the items, while any address or FAQ is stored:
it would drop them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("handling_item", sa.Column("online_url", sa.String(length=500), nullable=True))
    op.create_table(
        "faq_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=200), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["approval_item.id"],
            name=op.f("fk_faq_entry_item_id_approval_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entry")),
    )
    op.create_index(op.f("ix_faq_entry_item_id"), "faq_entry", ["item_id"], unique=False)


def downgrade():
    connection = op.get_bind()
    codes = sorted(
        set(
            connection.scalars(
                sa.text(
                    "SELECT approval_item.code FROM approval_item"
                    " JOIN handling_item ON handling_item.item_id = approval_item.id"
                    " WHERE handling_item.online_url IS NOT NULL"
                    " UNION SELECT approval_item.code FROM approval_item"
                    " JOIN faq_entry ON faq_entry.item_id = approval_item.id"
                )
            )
        )
    )
    if codes:
        raise RuntimeError(
            "以下事项有在线办理地址或常见问题，降级到 0018 会删除它们，请先删除后再降级："
            + "、".join(codes[:50])
            + ("等" if len(codes) > 50 else "")
        )
    op.drop_index(op.f("ix_faq_entry_item_id"), table_name="faq_entry")
    op.drop_table("faq_entry")
    # SQLite 3.35+ drops a column no index or constraint names in place
    op.drop_column("handling_item", "online_url")
