"""双公示: the party-name indexes out; the document number, the unit and the late ones in

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06

Every statement of the decision pages (public and staff), the organisation page, the API, the
report and the import was run through EXPLAIN on a catalog with decisions on both databases
(docs/decision-search-speed.md, "Which indexes the statements use"):

- ix_licence_decision_party_name and ix_penalty_decision_party_name (0029) served none: the
  public search goes through the grams since 0034, the staff search matches a part of the name
  (LIKE '%…%', which a B-tree cannot serve), the organisation page looks a party up by its
  credit code. Dropped: about 67 MB at 1.6 million decisions on SQLite.
- The import's duplicate checks ask for the rows of a batch's document numbers
  (document_number IN (…)), which the unique index (authority, document_number) cannot serve:
  SQLite scanned the whole index, PostgreSQL the table. ix_*_document_number serves them.
- The public list filtered by unit (and year, late) walked the list's order or read every row
  of the unit to count it: ix_*_unit_order is the list's order within a unit, with the columns
  the count checks (published_on, publish_by), and replaces the index of the unit alone (0029).
- Late decisions (published_on > publish_by: the report's links, about 1.5 %) had no index:
  ix_*_late is a partial index of them in the list's order, with the unit and the days a count
  checks. Both tables are analysed after (SQLite's planner ignored the partial index without
  its statistics).
"""

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

TABLES = ("licence_decision", "penalty_decision")
LATE = "published_on > publish_by"


def upgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_party_name", table_name=table)
        op.create_index(f"ix_{table}_document_number", table, ["document_number"])
        op.drop_index(f"ix_{table}_data_source_unit", table_name=table)
        op.create_index(f"ix_{table}_unit_order", table,
                        ["data_source_unit", "decided_on", "id", "published_on", "publish_by"])  # fmt: skip
        op.create_index(f"ix_{table}_late", table,
                        ["decided_on", "id", "data_source_unit", "published_on", "publish_by"],
                        sqlite_where=sa.text(LATE), postgresql_where=sa.text(LATE))  # fmt: skip
        # the planner's statistics of the new indexes (SQLite has none until ANALYZE: it then
        # preferred scanning the whole unit index to the late one)
        op.execute(f"ANALYZE {table}")


def downgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_late", table_name=table)
        op.drop_index(f"ix_{table}_unit_order", table_name=table)
        op.create_index(f"ix_{table}_data_source_unit", table, ["data_source_unit"])
        op.drop_index(f"ix_{table}_document_number", table_name=table)
        op.create_index(f"ix_{table}_party_name", table, ["party_name"])
