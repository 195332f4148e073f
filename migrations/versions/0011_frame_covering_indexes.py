"""search frame: covering indexes on PostgreSQL

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

The search frame reads every handling item id in code order, the published items by unit and
type, and the published handling items by their flags, each from one index (0009, 0010). On
SQLite every index holds the row's id, so those indexes answer alone; on PostgreSQL they do not
hold it, and each read went to the table (or sorted it): a frame took 0.9-1 s at 300,000
handling items, which every process pays for its first search after each change. Here the
three indexes carry the id (INCLUDE), so PostgreSQL reads them alone (an index-only scan, where
the table's visibility map allows it). SQLite: nothing to do.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CODE_ORDER = "ix_handling_item_code_id"
FACETS = {
    "ix_approval_item_facets": ("approval_item", ["status", "handling_unit", "item_type"]),
    "ix_handling_item_facets": (
        "handling_item", ["status", "visits", "case_type", "charges_fee", "item_id"]
    ),
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(CODE_ORDER, "handling_item", ["code"], postgresql_include=["id"])
    for name, (table, columns) in FACETS.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, postgresql_include=["id"])


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, columns) in FACETS.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)
    op.drop_index(CODE_ORDER, table_name="handling_item")
