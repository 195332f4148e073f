"""search: the entries' distinct parts and their postings

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04

search_part holds the distinct parts of the entries' text (an item name with its situation, a
situation, a result name, a legal basis, a material name, normalised; a province of 300,000
handling items has about 3,300), search_posting which handling items have which part, its
primary key (part, handling item) read alone. A Chinese word is matched over the parts, then
its handling items read from the postings' index (catalog.search.parts): on PostgreSQL the
GIN indexes of search_entry visited the 1.5 KB row of every match (450 ms for 运输证).

The back-fill recomputes every entry's parts from the catalog's rows (items, legal bases,
handling items, materials), as index_item does; on PostgreSQL the postings are then vacuumed,
outside the migration's transaction, so the index-only scan need not visit the table.

PostgreSQL also gets the item name's prefix index (0010) again with the id included: the
ranking's lists of the names equal to or beginning with the query then come from the index
alone too (a 1-character word: 345 ms reading the rows of 19,003 names at 300,000).
"""

import sqlalchemy as sa
from alembic import op

from catalog.search.parts import fill

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


FOREIGN_KEY = "fk_search_posting_handling_item_id_search_entry"
NAME_PREFIX = "ix_search_entry_item_name_prefix"  # PostgreSQL's, from 0010


def upgrade():
    connection = op.get_bind()
    postgresql = connection.dialect.name == "postgresql"
    op.create_table(
        "search_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.LargeBinary(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("in_name", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_search_part"),
        sa.UniqueConstraint("key", name="uq_search_part_key"),
    )
    # PostgreSQL: the foreign key is added after the back-fill, checked in one join instead of
    # row by row (SQLite cannot add one to a table)
    foreign_key = sa.ForeignKeyConstraint(
        ["handling_item_id"], ["search_entry.handling_item_id"], name=FOREIGN_KEY,
        ondelete="CASCADE",
    )  # fmt: skip
    op.create_table(
        "search_posting",
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("handling_item_id", sa.Integer(), nullable=False),
        *([] if postgresql else [foreign_key]),
        sa.PrimaryKeyConstraint("part_id", "handling_item_id", name="pk_search_posting"),
        sqlite_with_rowid=False,
    )
    if postgresql:
        from catalog.bulk_load import copy_rows

        fill(connection, insert=copy_rows)
        op.create_foreign_key(
            FOREIGN_KEY, "search_posting", "search_entry", ["handling_item_id"],
            ["handling_item_id"], ondelete="CASCADE",
        )  # fmt: skip
    else:
        fill(connection)
    op.create_index(
        "ix_search_posting_handling_item", "search_posting", ["handling_item_id", "part_id"]
    )
    if postgresql:
        # the ranking's lists of exact and prefix names (catalog.search.query._name_lists) from
        # the index alone: without the id a name beginning with 建 visited 15,526 pages (345 ms)
        op.execute(f"DROP INDEX {NAME_PREFIX}")
        op.execute(f"CREATE INDEX {NAME_PREFIX} ON search_entry (item_name text_pattern_ops)"
                   " INCLUDE (handling_item_id)")  # fmt: skip
    if postgresql:  # VACUUM cannot run in the migration's transaction
        with op.get_context().autocommit_block():
            op.execute("VACUUM ANALYZE search_posting")
            op.execute("VACUUM ANALYZE search_part")
            op.execute("VACUUM ANALYZE search_entry")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX {NAME_PREFIX}")
        op.execute(f"CREATE INDEX {NAME_PREFIX} ON search_entry (item_name text_pattern_ops)")
    op.drop_table("search_posting")
    op.drop_table("search_part")
