"""search: characters and pairs as tokens, the name apart, pinyin in the trigram index

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

Search now reads the ids of the entries each word matches, and ranks and counts them in the
app (catalog.search.frame). For that every lookup must be an index lookup that returns ids:
- search_entry.chars holds each character and each pair of adjacent characters as a token
  ("道路运输" -> "道 路 运 输 道路 路运 运输"), so a 1- or 2-character word is one token, not a
  phrase of single characters (a phrase reads the positions of two common characters: 45 ms
  for 运输 at 300,000 items, against 8 ms for one token). name_chars holds the name's, so a
  word can be looked up in the name alone (the ranking's "every word in the name").
- SQLite: search_chars and search_name_chars are FTS5 tables over chars and name_chars with
  detail=none (no phrase is ever asked), search_name_fts a trigram table over the name alone:
  a lookup in the name walks only the name's entries (a column filter on one table walked
  every entry of the word: 9 ms for a word in no name). search_fts, the trigram table of
  everything, also indexes pinyin and initials, so a pinyin search of 3+ letters is an index
  lookup, not a scan.
- PostgreSQL: the GIN index over chars is rebuilt after the back-fill, a GIN index over
  name_chars joins it (a short word is now one token there too: no LIKE recheck of every
  candidate), and pinyin and initials get pg_trgm GIN indexes.
- Both: an index of pinyin, for the ranking's pinyin prefix, and the indexes the search frame
  reads the published items and handling items from.
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from catalog.search.text import character_grams

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 5000

SQLITE_TABLES = ("search_fts", "search_name_fts", "search_chars", "search_name_chars")


def _triggers(table: str) -> str:
    """The prefix of a table's triggers: search_entry_ai (0003's names) for search_fts,
    search_entry_chars_ai for search_chars, …"""
    return "search_entry" if table == "search_fts" else f"search_entry_{table[7:]}"


SQLITE_DROP = [
    statement
    for table in SQLITE_TABLES
    for statement in [
        *(f"DROP TRIGGER IF EXISTS {_triggers(table)}_{event}" for event in ("au", "ad", "ai")),
        f"DROP TABLE IF EXISTS {table}",
    ]
]


def _fts(table: str, columns: list[str], options: str) -> list[str]:
    """An external-content FTS5 table over search_entry, kept in step by triggers, and filled."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    prefix = _triggers(table)
    return [
        f"""CREATE VIRTUAL TABLE {table} USING fts5({names}, content='search_entry',
            content_rowid='handling_item_id', {options})""",
        f"""CREATE TRIGGER {prefix}_ai AFTER INSERT ON search_entry BEGIN
            INSERT INTO {table}(rowid, {names}) VALUES (new.handling_item_id, {new});
        END""",
        f"""CREATE TRIGGER {prefix}_ad AFTER DELETE ON search_entry BEGIN
            INSERT INTO {table}({table}, rowid, {names})
            VALUES ('delete', old.handling_item_id, {old});
        END""",
        f"""CREATE TRIGGER {prefix}_au AFTER UPDATE OF {names} ON search_entry BEGIN
            INSERT INTO {table}({table}, rowid, {names})
            VALUES ('delete', old.handling_item_id, {old});
            INSERT INTO {table}(rowid, {names}) VALUES (new.handling_item_id, {new});
        END""",
        f"INSERT INTO {table}({table}) VALUES ('rebuild')",
    ]


CHARACTERS = "tokenize='unicode61 remove_diacritics 0', detail=none, columnsize=0"
SQLITE_UP = [
    *_fts("search_fts", ["name", "body", "pinyin", "initials"], "tokenize='trigram'"),
    *_fts("search_name_fts", ["name"], "tokenize='trigram'"),
    *_fts("search_chars", ["chars"], CHARACTERS),
    *_fts("search_name_chars", ["name_chars"], CHARACTERS),
]
SQLITE_DOWN = [
    *_fts("search_fts", ["name", "body"], "tokenize='trigram'"),
    *_fts(
        "search_chars",
        ["chars"],
        "tokenize=\"unicode61 remove_diacritics 0 tokenchars '|'\", columnsize=0",
    ),
]
POSTGRES_CHARS = (
    "CREATE INDEX ix_search_entry_chars ON search_entry "
    "USING gin (to_tsvector('simple'::regconfig, chars))"
)
POSTGRES_NEW = [
    "CREATE INDEX ix_search_entry_name_chars ON search_entry "
    "USING gin (to_tsvector('simple'::regconfig, name_chars))",
    "CREATE INDEX ix_search_entry_pinyin_trgm ON search_entry USING gin (pinyin gin_trgm_ops)",
    "CREATE INDEX ix_search_entry_initials_trgm ON search_entry "
    "USING gin (initials gin_trgm_ops)",
]

# what the search frame reads, each from one index (catalog.search.frame.load_frame)
FRAME_INDEXES = [
    ("ix_approval_item_facets", "approval_item", ["status", "handling_unit", "item_type"]),
    ("ix_handling_item_facets", "handling_item",
     ["status", "visits", "case_type", "charges_fee", "item_id"]),
]  # fmt: skip


def grams_values(name: str, body: str) -> dict[str, str]:
    """The character columns as this revision wrote them (0010 adds one the app now writes)."""
    name_grams = character_grams(name)
    return {"name_chars": name_grams, "chars": f"{name_grams} {character_grams(body)}"}


def _fill(connection: sa.Connection, values) -> None:
    """Rewrite the character columns of the existing rows, a batch at a time."""
    entry = sa.table("search_entry", sa.column("handling_item_id"), sa.column("name"),
                     sa.column("body"), sa.column("name_chars"), sa.column("chars"))  # fmt: skip
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
            entry.update().where(entry.c.handling_item_id == sa.bindparam("id")),
            [{"id": row_id, **values(name, body)} for row_id, name, body in rows],
        )
        last = rows[-1][0]


def _spaced_characters():
    """0008's layout of chars, for the downgrade (revision files are not importable by name)."""
    path = Path(__file__).with_name("0008_search_characters.py")
    spec = importlib.util.spec_from_file_location("revision_0008", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.spaced_characters, module.CHAR_SEPARATOR


def upgrade():
    connection = op.get_bind()
    dialect = connection.dialect.name
    # the indexes go first: kept up row by row, the back-fill would take minutes
    if dialect == "sqlite":
        for statement in SQLITE_DROP:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_entry_chars")
    op.add_column(
        "search_entry", sa.Column("name_chars", sa.Text(), server_default="", nullable=False)
    )
    _fill(connection, grams_values)
    op.create_index("ix_search_entry_pinyin", "search_entry", ["pinyin"])
    for name, table, columns in FRAME_INDEXES:
        op.create_index(name, table, columns)
    if dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in [POSTGRES_CHARS, *POSTGRES_NEW]:
            op.execute(statement)


def downgrade():
    connection = op.get_bind()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DROP:
            op.execute(statement)
    elif dialect == "postgresql":
        for name in ("ix_search_entry_chars", "ix_search_entry_name_chars",
                     "ix_search_entry_pinyin_trgm", "ix_search_entry_initials_trgm"):  # fmt: skip
            op.execute(f"DROP INDEX IF EXISTS {name}")
    spaced, separator = _spaced_characters()
    _fill(connection, lambda name, body: {
        "name_chars": "", "chars": f"{spaced(name)} {separator} {spaced(body)}",
    })  # fmt: skip
    op.drop_index("ix_search_entry_pinyin", table_name="search_entry")
    for name, table, _columns in FRAME_INDEXES:
        op.drop_index(name, table_name=table)
    if dialect == "sqlite":
        # in place (SQLite 3.35+): batch mode would recreate the table and lose the triggers
        op.execute("ALTER TABLE search_entry DROP COLUMN name_chars")
        for statement in SQLITE_DOWN:
            op.execute(statement)
    else:
        op.drop_column("search_entry", "name_chars")
        op.execute(POSTGRES_CHARS)
