"""search results: the columns a result list shows, in covering indexes on PostgreSQL

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-06

A search reads its page's 20 handling items and their items in one statement
(catalog.search.results._PAGE_HITS): by id, through each table's primary key, then the row. At
300,000 handling items the two tables' rows are 155 MB, more than PostgreSQL's 128 MB of
buffers here, and distinct searches meet different rows: 160 buffers a page, half of them read
from outside PostgreSQL, 4-7 ms median once the kernel had dropped its cache, where the page's
rows at 30,000 items were all in the buffers (docs/search-speed.md, "The page's rows").

Here each table gets an index of its id that includes the columns the list shows (and the
handling item's item_id for the join), 27 and 26 MB at 300,000: the statement reads them
alone (an index-only scan, where the visibility map allows it), one leaf a row where it read a
leaf and a table page. SQLite: nothing to do (a rowid table is its own index by id).
"""

from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

# Named in migrations/env.py's HAND_WRITTEN; tests/test_search_engine.py holds the included
# columns to those the page's statement reads.
HANDLING_LISTED = ["item_id", "code", "situation", "case_type", "statutory_days",
                   "promised_days", "visits", "charges_fee", "online_depth"]  # fmt: skip
LISTED = {
    "ix_handling_item_listed": ("handling_item", HANDLING_LISTED),
    "ix_approval_item_listed": ("approval_item", ["code", "name", "item_type", "handling_unit"]),
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, included) in LISTED.items():
        op.create_index(name, table, ["id"], postgresql_include=included)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, _included) in LISTED.items():
        op.drop_index(name, table_name=table)
