"""search: trigram indexes for substring search (FTS5 on SQLite, pg_trgm on PostgreSQL)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

SQLite: an external-content FTS5 table with the trigram tokenizer over search_entry.name and
.body, kept in step by triggers; search uses MATCH for words of 3 or more characters (MATCH
needs 3, and on SQLite 3.40 a LIKE through the trigram table finds nothing for 2 Chinese
characters), and a LIKE on search_entry for shorter words.
PostgreSQL: pg_trgm GIN indexes, which serve LIKE '%word%' for words of 3 or more characters.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQLITE_UP = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        name, body, content='search_entry', content_rowid='handling_item_id',
        tokenize='trigram')""",
    """CREATE TRIGGER search_entry_ai AFTER INSERT ON search_entry BEGIN
        INSERT INTO search_fts(rowid, name, body)
        VALUES (new.handling_item_id, new.name, new.body);
    END""",
    """CREATE TRIGGER search_entry_ad AFTER DELETE ON search_entry BEGIN
        INSERT INTO search_fts(search_fts, rowid, name, body)
        VALUES ('delete', old.handling_item_id, old.name, old.body);
    END""",
    """CREATE TRIGGER search_entry_au AFTER UPDATE ON search_entry BEGIN
        INSERT INTO search_fts(search_fts, rowid, name, body)
        VALUES ('delete', old.handling_item_id, old.name, old.body);
        INSERT INTO search_fts(rowid, name, body)
        VALUES (new.handling_item_id, new.name, new.body);
    END""",
    "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_entry_au",
    "DROP TRIGGER IF EXISTS search_entry_ad",
    "DROP TRIGGER IF EXISTS search_entry_ai",
    "DROP TABLE IF EXISTS search_fts",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_search_entry_name_trgm ON search_entry USING gin (name gin_trgm_ops)",
    "CREATE INDEX ix_search_entry_body_trgm ON search_entry USING gin (body gin_trgm_ops)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_search_entry_body_trgm",
    "DROP INDEX IF EXISTS ix_search_entry_name_trgm",
]


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_UP)
    elif dialect == "postgresql":
        _run(POSTGRES_UP)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_DOWN)
    elif dialect == "postgresql":
        _run(POSTGRES_DOWN)
