"""双公示: the unit's index holds what the list's other filters check, for an index-only count

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-07

The public list filtered by a unit and a licence's status (`kind=licence&unit=…&status=valid`)
counted its rows up to 10,001 through ix_licence_decision_unit_order and read each row from
the table for its status: 2,209 table pages for 10,001 rows of one unit at 1,577,000
decisions, 50-470 ms with the table out of memory, where the same count with a year instead
of a status read 132 index pages and no row (10.6 ms). The tail of the bench's filter-only
class (仅条件) on PostgreSQL was these counts (docs/decision-search-speed.md, "The filter-only
list").

ix_licence_decision_unit_order now ends with status, and ix_penalty_decision_unit_order with
category and publication_ends_on (a penalty is public until then: public_rows.public), so a
count of a unit with those filters reads the index alone. Both tables are analysed after, as
0038 did. The downgrade puts 0038's indexes back.
"""

from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

DAYS = ["data_source_unit", "decided_on", "id", "published_on", "publish_by"]
COUNTED = {"licence_decision": ["status"], "penalty_decision": ["category", "publication_ends_on"]}


def _unit_order(table: str, columns: list[str]) -> None:
    op.drop_index(f"ix_{table}_unit_order", table_name=table)
    op.create_index(f"ix_{table}_unit_order", table, columns)
    op.execute(f"ANALYZE {table}")


def upgrade():
    for table, counted in COUNTED.items():
        _unit_order(table, DAYS + counted)


def downgrade():
    for table in COUNTED:
        _unit_order(table, DAYS)
