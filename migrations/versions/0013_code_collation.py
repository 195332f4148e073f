"""codes in character order on PostgreSQL

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

Item, handling item and snapshot item codes take the "C" collation on PostgreSQL: they are
identifiers, ordered by their characters as Python and SQLite order them. Under a database's
linguistic collation (en-US, ICU or glibc) "a-1" sorted before "B-1", so the live report's
fingerprint and lists, read in SQL order, differed from a snapshot's of the same data, sorted
in Python. PostgreSQL changes a column's collation without rewriting the table; it rebuilds
the indexes on the column (seconds at 300,000 handling items). SQLite: nothing to do (its
default collation is already by character).
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

CODES = (("approval_item", 40), ("handling_item", 50), ("report_snapshot_item", 50))


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, length in CODES:
        op.execute(
            f'ALTER TABLE {table} ALTER COLUMN code TYPE VARCHAR({length}) COLLATE "{collation}"'
        )


def upgrade():
    _collate("C")


def downgrade():
    _collate("default")
