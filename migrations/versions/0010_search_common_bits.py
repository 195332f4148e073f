"""search: bits of the common characters and pairs in each entry

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28

search_entry.common holds, as 256 bits, which of the 256 most common characters and pairs
(catalog.search.common) the entry's chars have. The search frame reads them once a revision,
so a word in half the catalog (运输, 许可) is a column of bits, not a list of 170,000 ids read
out of the index. A covering index serves that read without the entries' text.

PostgreSQL: the ranking asks for the names that begin with the query (LIKE '运输%'); under a
database collation other than C (C.UTF-8 included) a plain btree cannot serve a LIKE prefix,
and each search scanned every entry (250 ms at 300,000). Indexes of item_name and pinyin with
text_pattern_ops serve it.
"""

import sqlalchemy as sa
from alembic import op

from catalog.search.common import common_bits

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 5000
INDEX = "ix_search_entry_common"
PREFIX_INDEXES = {"ix_search_entry_item_name_prefix": "item_name",
                  "ix_search_entry_pinyin_prefix": "pinyin"}  # fmt: skip


def upgrade():
    connection = op.get_bind()
    # NOT NULL from the start (SQLite cannot add it later without rebuilding the table and
    # losing its triggers): the existing entries hold no bits until the back-fill below
    nothing = "X'" + "00" * 32 + "'" if connection.dialect.name == "sqlite" else (
        "'\\x" + "00" * 32 + "'::bytea"
    )
    op.add_column("search_entry", sa.Column(
        "common", sa.LargeBinary(32), nullable=False, server_default=sa.text(nothing)
    ))  # fmt: skip
    entry = sa.table("search_entry", sa.column("handling_item_id"), sa.column("chars"),
                     sa.column("common"))  # fmt: skip
    last = 0
    while True:
        rows = connection.execute(
            sa.select(entry.c.handling_item_id, entry.c.chars)
            .where(entry.c.handling_item_id > last)
            .order_by(entry.c.handling_item_id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            entry.update().where(entry.c.handling_item_id == sa.bindparam("id")),
            [{"id": row_id, "common": common_bits(chars)} for row_id, chars in rows],
        )
        last = rows[-1][0]
    op.create_index(INDEX, "search_entry", ["handling_item_id", "common"])
    if connection.dialect.name == "postgresql":
        for name, column in PREFIX_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON search_entry ({column} text_pattern_ops)")


def downgrade():
    op.drop_index(INDEX, table_name="search_entry")
    if op.get_bind().dialect.name == "postgresql":
        for name in PREFIX_INDEXES:
            op.execute(f"DROP INDEX {name}")
    if op.get_bind().dialect.name == "sqlite":
        # in place (SQLite 3.35+): batch mode would recreate the table and lose the triggers
        op.execute("ALTER TABLE search_entry DROP COLUMN common")
    else:
        op.drop_column("search_entry", "common")
