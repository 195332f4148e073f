"""search: the columns chars and name_chars go

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-07

search_entry.chars held every character and pair of characters of an entry's name and uncoded
body as tokens, and name_chars those of its name, for the index of 1- and 2-character words
that 0043 dropped (the parts serve those words now). Nothing reads them any more; the common
characters' bits are computed from the texts when an entry is written (catalog.search.index).
They were two thirds of a row: 935 of 1,389 bytes on average at 300,000 handling items on
PostgreSQL, where the search frame reads the table whole when it loads.

SQLite rewrites the table without them (ALTER TABLE … DROP COLUMN). PostgreSQL only marks them
dropped, so the table is rewritten after (VACUUM FULL, outside the migration's transaction; it
locks the table while it runs), then vacuumed, since a rewrite leaves the visibility map empty
and the search frame's index-only scans would visit every row. At 300,000 handling items on
PostgreSQL: 22 s, the table 415 MB → 138 MB (578 → 284 MB with its indexes); a frame's load
from a warm cache took about as long after as before (1.52-1.53 s against 1.47-1.68). The
downgrade adds the columns back and fills them from the rows, as 0037 wrote them.
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from catalog.search.text import character_grams

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

COLUMNS = ("chars", "name_chars")
BATCH = 5000


def _revision_0037():
    """0037's _fill (revision files are not importable by name)."""
    path = Path(__file__).with_name("0037_short_words_not_in_codes.py")
    spec = importlib.util.spec_from_file_location("revision_0037", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade():
    for column in COLUMNS:
        op.execute(f"ALTER TABLE search_entry DROP COLUMN {column}")
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute("VACUUM (FULL) search_entry")
            op.execute("VACUUM (ANALYZE) search_entry")


def downgrade():
    for column in COLUMNS:
        op.add_column("search_entry",
                      sa.Column(column, sa.Text, nullable=False, server_default=""))  # fmt: skip
    connection = op.get_bind()
    entry = sa.table("search_entry", sa.column("handling_item_id"), sa.column("name"),
                     sa.column("name_chars"))  # fmt: skip
    last = 0
    while True:  # name_chars, from the names; then chars from them and the bodies, as 0037
        rows = connection.execute(
            sa.select(entry.c.handling_item_id, entry.c.name)
            .where(entry.c.handling_item_id > last)
            .order_by(entry.c.handling_item_id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            entry.update().where(entry.c.handling_item_id == sa.bindparam("id")),
            [{"id": row_id, "name_chars": character_grams(name)} for row_id, name in rows],
        )
        last = rows[-1][0]
    _revision_0037()._fill(connection, codes=False)
