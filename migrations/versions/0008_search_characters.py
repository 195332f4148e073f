"""search: an index of single characters, so 1- and 2-character words are indexed too

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

The trigram indexes of 0003 cannot serve a word shorter than 3 characters, so such words were
found by scanning every search entry (about 1 s at 300,000 handling items). search_entry.chars
holds the name and body one character a token ("道 路 | 运 输"), and a short word becomes a
phrase of single characters:
SQLite: an external-content FTS5 table (unicode61, "|" a token of its own so that no phrase
spans a separator), kept in step by triggers. The trigram table's update trigger now fires only
when the name or body changes.
PostgreSQL: a GIN index over to_tsvector('simple', chars); phrase candidates are rechecked
with LIKE, as the tsvector drops the separators.
Both: an index of (initials, pinyin), so a pinyin search scans that index, not every entry.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 5000
CHAR_SEPARATOR = "|"  # a token of its own in the character index: no phrase spans it


def spaced_characters(text: str) -> str:
    """Every letter, digit or CJK character of `text` as a token of its own, each run of
    anything else as one separator token: "道路（运输）" -> "道 路 | 运 输 |" (0009 replaced
    this layout with characters and pairs; kept here as this revision wrote it)."""
    tokens: list[str] = []
    for run in re.finditer(r"[^\W_]+|[\W_]+", text):
        piece = run.group()
        if re.fullmatch(r"[^\W_]+", piece):
            tokens.extend(piece)
        elif tokens and tokens[-1] != CHAR_SEPARATOR:
            tokens.append(CHAR_SEPARATOR)
    return " ".join(tokens)

SQLITE_TRIGRAM_UPDATE = """CREATE TRIGGER search_entry_au AFTER UPDATE {of} ON search_entry BEGIN
        INSERT INTO search_fts(search_fts, rowid, name, body)
        VALUES ('delete', old.handling_item_id, old.name, old.body);
        INSERT INTO search_fts(rowid, name, body)
        VALUES (new.handling_item_id, new.name, new.body);
    END"""
SQLITE_UP = [
    """CREATE VIRTUAL TABLE search_chars USING fts5(
        chars, content='search_entry', content_rowid='handling_item_id',
        tokenize="unicode61 remove_diacritics 0 tokenchars '|'", columnsize=0)""",
    """CREATE TRIGGER search_entry_chars_ai AFTER INSERT ON search_entry BEGIN
        INSERT INTO search_chars(rowid, chars) VALUES (new.handling_item_id, new.chars);
    END""",
    """CREATE TRIGGER search_entry_chars_ad AFTER DELETE ON search_entry BEGIN
        INSERT INTO search_chars(search_chars, rowid, chars)
        VALUES ('delete', old.handling_item_id, old.chars);
    END""",
    """CREATE TRIGGER search_entry_chars_au AFTER UPDATE OF chars ON search_entry BEGIN
        INSERT INTO search_chars(search_chars, rowid, chars)
        VALUES ('delete', old.handling_item_id, old.chars);
        INSERT INTO search_chars(rowid, chars) VALUES (new.handling_item_id, new.chars);
    END""",
    "INSERT INTO search_chars(search_chars) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_entry_chars_au",
    "DROP TRIGGER IF EXISTS search_entry_chars_ad",
    "DROP TRIGGER IF EXISTS search_entry_chars_ai",
    "DROP TABLE IF EXISTS search_chars",
]
POSTGRES_UP = [
    "CREATE INDEX ix_search_entry_chars ON search_entry "
    "USING gin (to_tsvector('simple'::regconfig, chars))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_search_entry_chars"]


def _fill_chars(connection: sa.Connection) -> None:
    """Write search_entry.chars of the existing rows (the services write it from now on)."""
    entry = sa.table("search_entry", sa.column("handling_item_id"), sa.column("name"),
                     sa.column("body"), sa.column("chars"))  # fmt: skip
    last = 0
    while True:
        rows = connection.execute(
            sa.select(entry.c.handling_item_id, entry.c.name, entry.c.body)
            .where(entry.c.handling_item_id > last)
            .order_by(entry.c.handling_item_id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            entry.update().where(entry.c.handling_item_id == sa.bindparam("id"))
            .values(chars=sa.bindparam("value")),
            [{"id": row_id, "value":
              f"{spaced_characters(name)} {CHAR_SEPARATOR} {spaced_characters(body)}"}
             for row_id, name, body in rows],
        )  # fmt: skip
        last = rows[-1][0]


def upgrade():
    connection = op.get_bind()
    dialect = connection.dialect.name
    op.add_column("search_entry", sa.Column("chars", sa.Text(), server_default="", nullable=False))
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS search_entry_au")
        op.execute(SQLITE_TRIGRAM_UPDATE.format(of="OF name, body"))
    _fill_chars(connection)
    op.create_index("ix_search_entry_spelling", "search_entry", ["initials", "pinyin"])
    for statement in {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}.get(dialect, []):
        op.execute(statement)
    op.drop_index("ix_search_entry_spelling", table_name="search_entry")
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS search_entry_au")
        op.execute(SQLITE_TRIGRAM_UPDATE.format(of=""))
        # SQLite drops a column in place (3.35+); batch mode would recreate the table and lose
        # the triggers of search_fts
        op.execute("ALTER TABLE search_entry DROP COLUMN chars")
    else:
        op.drop_column("search_entry", "chars")
