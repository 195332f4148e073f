"""双公示: the report's figures kept per year, unit, item or category; published_on indexed

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06

The 双公示 section grouped every decision of the year on every request: 5.1-5.7 s at 1,577,000
decisions (docs/decisions.md, "Report at province scale"). decision_sums holds the figures,
kept by the service layer (catalog.decisions.sums) in the transaction that changes decisions,
and is filled here from the existing rows: one grouped INSERT … SELECT per kind. The
published_on indexes serve the report's count of decisions recorded ahead of their
publication day (few), which the public list does not show yet (catalog.decisions.unlisted).
"""

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

TABLES = ("licence_decision", "penalty_decision")
KEY = ("year", "unit", "kind", "item_id", "category", "on_time", "ends_month", "repaired")
VALUES = ("decisions", "fine_micros", "confiscated_micros")
MICROS = 1_000_000


def _grouped(kind: str) -> sa.Select:
    """The rows of a kind grouped by the kept key (catalog.decisions.sums._grouped, as of this
    revision)."""
    columns = [sa.column(name) for name in (
        "id", "decided_on", "data_source_unit", "published_on", "publish_by",
    )]  # fmt: skip
    if kind == "licence":
        table = sa.table("licence_decision", *columns, sa.column("item_id"))
    else:
        table = sa.table(
            "penalty_decision", *columns, sa.column("category"),
            sa.column("publication_ends_on"), sa.column("fine_amount"),
            sa.column("confiscated_amount"),
        )  # fmt: skip
    c = table.c
    year = sa.cast(sa.extract("year", c.decided_on), sa.Integer)
    on_time = sa.case((c.published_on <= c.publish_by, True), else_=False)
    if kind == "licence":
        item, category, ends = c.item_id, sa.literal(""), sa.literal(0)
        repaired = sa.literal(False)
        fine = confiscated = sa.literal(0)
        source = table
    else:
        repair = sa.table("credit_repair", sa.column("id"), sa.column("penalty_id"))
        item, category = sa.literal(0), sa.cast(c.category, sa.String)
        ends = sa.cast(
            sa.extract("year", c.publication_ends_on) * 100
            + sa.extract("month", c.publication_ends_on),
            sa.Integer,
        )
        repaired = sa.case((repair.c.id.is_not(None), True), else_=False)

        def whole(column):
            return sa.func.sum(
                sa.cast(sa.func.round(sa.func.coalesce(column, 0) * MICROS), sa.BigInteger)
            )

        fine, confiscated = whole(c.fine_amount), whole(c.confiscated_amount)
        source = table.outerjoin(repair, repair.c.penalty_id == c.id)
    keys = [year, c.data_source_unit, sa.literal(kind), item, category, on_time, ends, repaired]
    return (
        sa.select(*keys, sa.func.count(), fine, confiscated).select_from(source).group_by(*keys)
    )


def upgrade():
    op.create_table(
        "decision_sums",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("on_time", sa.Boolean, nullable=False),
        sa.Column("ends_month", sa.Integer, nullable=False),
        sa.Column("repaired", sa.Boolean, nullable=False),
        sa.Column("decisions", sa.BigInteger, nullable=False),
        sa.Column("fine_micros", sa.BigInteger, nullable=False),
        sa.Column("confiscated_micros", sa.BigInteger, nullable=False),
        sa.UniqueConstraint(*KEY, name="uq_decision_sums_key"),
    )
    op.create_index("ix_decision_sums_item", "decision_sums", ["year", "kind", "item_id", "decisions"])
    sums = sa.table("decision_sums", *(sa.column(name) for name in (*KEY, *VALUES)))
    for kind in ("licence", "penalty"):
        op.execute(sums.insert().from_select([*KEY, *VALUES], _grouped(kind)))
    for table in TABLES:
        op.create_index(f"ix_{table}_published_on", table, ["published_on"])
        op.execute(f"ANALYZE {table}")
    if op.get_bind().dialect.name == "postgresql":
        # the report reads the kept rows index-only, which needs the table's visibility map:
        # vacuumed here, outside the transaction (VACUUM cannot run in one)
        with op.get_context().autocommit_block():
            op.execute("VACUUM (ANALYZE) decision_sums")
    else:
        op.execute("ANALYZE decision_sums")


def downgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_published_on", table_name=table)
    op.drop_index("ix_decision_sums_item", table_name="decision_sums")
    op.drop_table("decision_sums")
