"""search: the frame's changes, the spellings from the frame, not from trigram indexes

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04

search_change lists the handling items (or approval items) whose row of the search frame
changed, written in the changing transaction, so a worker's frame applies those rows after a
change instead of loading all 300,000 again (0.35-0.5 s, which the first search after every
change paid). On PostgreSQL ix_search_entry_spelling also carries the id (INCLUDE), so the
frame reads the distinct spellings of the item names with their ids from the index alone
(SQLite's index holds the row's id already): a Latin term's spelling of the item name is
matched over those few hundred spellings (catalog.search.frame.Frame.spelt), no longer through
an index of every entry's pinyin, so
- SQLite: search_fts, the trigram table, indexes name and body only (0009 added pinyin and
  initials: a Latin word then read the doclists of every entry's pinyin, 55 ms for jingying at
  300,000 handling items, where name and body hold it nowhere);
- PostgreSQL: the pg_trgm indexes of pinyin and initials go (nothing reads them).
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

SPELLING = "ix_search_entry_spelling"
TRIGRAM_TRIGGERS = [f"search_entry_{event}" for event in ("ai", "ad", "au")]  # 0003's names
PINYIN_TRIGRAMS = {
    "ix_search_entry_pinyin_trgm": "pinyin", "ix_search_entry_initials_trgm": "initials"
}  # fmt: skip


def _trigram_table(columns: list[str]) -> list[str]:
    """search_fts over these columns of search_entry, its triggers, and its rebuild (0009's)."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    return [
        *(f"DROP TRIGGER IF EXISTS {trigger}" for trigger in TRIGRAM_TRIGGERS),
        "DROP TABLE IF EXISTS search_fts",
        f"""CREATE VIRTUAL TABLE search_fts USING fts5({names}, content='search_entry',
            content_rowid='handling_item_id', tokenize='trigram')""",
        f"""CREATE TRIGGER search_entry_ai AFTER INSERT ON search_entry BEGIN
            INSERT INTO search_fts(rowid, {names}) VALUES (new.handling_item_id, {new});
        END""",
        f"""CREATE TRIGGER search_entry_ad AFTER DELETE ON search_entry BEGIN
            INSERT INTO search_fts(search_fts, rowid, {names})
            VALUES ('delete', old.handling_item_id, {old});
        END""",
        f"""CREATE TRIGGER search_entry_au AFTER UPDATE OF {names} ON search_entry BEGIN
            INSERT INTO search_fts(search_fts, rowid, {names})
            VALUES ('delete', old.handling_item_id, {old});
            INSERT INTO search_fts(rowid, {names}) VALUES (new.handling_item_id, {new});
        END""",
        "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
    ]


def upgrade():
    op.create_table(
        "search_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("handling_item_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(16), server_default="", nullable=False),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _trigram_table(["name", "body"]):
            op.execute(statement)
    elif dialect == "postgresql":
        op.drop_index(SPELLING, table_name="search_entry")
        op.create_index(
            SPELLING, "search_entry", ["initials", "pinyin"],
            postgresql_include=["handling_item_id"],
        )  # fmt: skip
        for name in PINYIN_TRIGRAMS:
            op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _trigram_table(["name", "body", "pinyin", "initials"]):
            op.execute(statement)
    elif dialect == "postgresql":
        for name, column in PINYIN_TRIGRAMS.items():
            op.execute(f"CREATE INDEX {name} ON search_entry USING gin ({column} gin_trgm_ops)")
        op.drop_index(SPELLING, table_name="search_entry")
        op.create_index(SPELLING, "search_entry", ["initials", "pinyin"])
    op.drop_table("search_change")
