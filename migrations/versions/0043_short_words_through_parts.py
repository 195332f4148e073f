"""search: 1-2 letters and digits through the parts; the index of characters and pairs goes

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-06

A word of 1 or 2 letters or digits (most two-letter initials' lookups, "ic", "5") was a token
of search_entry.chars: on SQLite the FTS5 tables search_chars and search_name_chars, on
PostgreSQL three statements a word (table scans off, the GIN lookup, scans back on) that read
each matching entry's 1.4 KB row (jr, 222 ms, was the slowest request of a PostgreSQL mix at
300,000 handling items). The
parts (0026) hold the same texts chars is made from, the name and the body without the codes,
and a pair of chars never spans anything but letters, digits and CJK characters, so such a word
is a token of an entry's chars exactly when it is in one of its parts: it is now looked up
there, as Chinese words are (catalog.search.lookups.in_parts), in the process.

No search reads those indexes now: this drops them (SQLite: the two FTS5 tables and their
triggers; PostgreSQL: the two GIN indexes), which every edit wrote. The column chars stays: the
common characters' bits are made from it (catalog.search.common). The downgrade builds them
again from the rows, as 0009 made them.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

SQLITE_TABLES = {"search_chars": "chars", "search_name_chars": "name_chars"}
POSTGRES_INDEXES = ("ix_search_entry_chars", "ix_search_entry_name_chars")


def _revision_0009():
    """0009's statements (revision files are not importable by name)."""
    path = Path(__file__).with_name("0009_search_grams.py")
    spec = importlib.util.spec_from_file_location("revision_0009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        old = _revision_0009()
        for table in SQLITE_TABLES:
            for event in ("au", "ad", "ai"):
                op.execute(f"DROP TRIGGER IF EXISTS {old._triggers(table)}_{event}")
            op.execute(f"DROP TABLE IF EXISTS {table}")
    elif dialect == "postgresql":
        for index in POSTGRES_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {index}")


def downgrade():
    dialect = op.get_bind().dialect.name
    old = _revision_0009()
    if dialect == "sqlite":
        for table, column in SQLITE_TABLES.items():
            for statement in old._fts(table, [column], old.CHARACTERS):
                op.execute(statement)
    elif dialect == "postgresql":
        op.execute(old.POSTGRES_CHARS)
        (name_chars,) = [s for s in old.POSTGRES_NEW if "ix_search_entry_name_chars" in s]
        op.execute(name_chars)
