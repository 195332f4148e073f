"""search: a word of 1 or 2 characters no longer matches inside the codes

Revision ID: 0037
Revises: 0034
Create Date: 2026-12-05

search_entry.chars held the characters and pairs of both codes of every entry; every generated
code begins with HN- (the bureau's with XCJT-07-), so hn, h, n, xc, jt and the digits were
tokens of every entry, and a lookup of one read every entry's row: 0.5-1.3 s on PostgreSQL at
300,000 handling items, 0.4 s on SQLite (docs/search-speed.md, "A token of every entry"). chars
now leaves the codes out (catalog.search.index): a code is found by a word of 3+ characters,
through the trigram indexes of the body, which still holds the codes.

The index of chars (SQLite: the FTS5 table search_chars and its triggers; PostgreSQL: the GIN
index) is dropped, chars rewritten from the name's characters and the body without its codes,
and the index built again (kept up row by row, the rewrite would take minutes); on PostgreSQL
the table is vacuumed after it. 32 s on SQLite, 5.3 min on PostgreSQL (and 34 s of VACUUM) at
300,000 handling items, on a shared, loaded machine.
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from catalog.search.text import character_grams, normalise

revision = "0037"
down_revision = "0034"
branch_labels = None
depends_on = None

BATCH = 5000


def _revision_0009():
    """0009's statements for search_chars and its index (revision files are not importable
    by name)."""
    path = Path(__file__).with_name("0009_search_grams.py")
    spec = importlib.util.spec_from_file_location("revision_0009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def without_codes(body: str, item_code: str, handling_code: str) -> str:
    """The body without its two codes (written one after the other, each without a space)."""
    words = body.split(" ")
    codes = [normalise(item_code), normalise(handling_code)]
    for start in range(len(words) - 1):
        if words[start : start + 2] == codes:
            return " ".join(words[:start] + words[start + 2 :])
    return body


def _fill(connection: sa.Connection, *, codes: bool) -> None:
    """Rewrite chars from name_chars and the body, with or without the codes, a batch at a
    time."""
    entry = sa.table("search_entry", sa.column("handling_item_id"), sa.column("body"),
                     sa.column("name_chars"), sa.column("chars"))  # fmt: skip
    handling = sa.table("handling_item", sa.column("id"), sa.column("code"), sa.column("item_id"))
    item = sa.table("approval_item", sa.column("id"), sa.column("code"))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(entry.c.handling_item_id, entry.c.name_chars, entry.c.body,
                      item.c.code, handling.c.code)
            .join_from(entry, handling, handling.c.id == entry.c.handling_item_id)
            .join(item, item.c.id == handling.c.item_id)
            .where(entry.c.handling_item_id > last)
            .order_by(entry.c.handling_item_id)
            .limit(BATCH)
        ).all()  # fmt: skip
        if not rows:
            return
        connection.execute(
            entry.update().where(entry.c.handling_item_id == sa.bindparam("id")),
            [
                {"id": row_id, "chars": f"{name_chars} " + character_grams(
                    body if codes else without_codes(body, item_code, handling_code)
                )}
                for row_id, name_chars, body, item_code, handling_code in rows
            ],
        )  # fmt: skip
        last = rows[-1][0]


def _rewrite(*, codes: bool) -> None:
    connection = op.get_bind()
    dialect = connection.dialect.name
    old = _revision_0009()
    if dialect == "sqlite":
        prefix = old._triggers("search_chars")
        for event in ("au", "ad", "ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {prefix}_{event}")
        op.execute("DROP TABLE IF EXISTS search_chars")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_entry_chars")
    _fill(connection, codes=codes)
    if dialect == "sqlite":
        for statement in old._fts("search_chars", ["chars"], old.CHARACTERS):
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(old.POSTGRES_CHARS)
        # VACUUM cannot run in the migration's transaction; without it the new index still
        # lists the rows' old versions, every one of them for hn, and a lookup visits them all
        with op.get_context().autocommit_block():
            op.execute("VACUUM ANALYZE search_entry")


def upgrade():
    _rewrite(codes=False)


def downgrade():
    _rewrite(codes=True)
