"""a snapshot's items in compressed chunks

Revision ID: 0025
Revises: 0022
Create Date: 2026-12-04

report_snapshot_chunk holds a new snapshot's frozen items, up to 1,000 consecutive items (in
code order) per row, as zlib-compressed JSON, with an index of (code, name, digest) per item
compressed apart (catalog.reports.frozen). At 300,000 handling items one row per item made a
snapshot take minutes and hundreds of megabytes. Snapshots already stored keep their
report_snapshot_item rows and are read as before. Like the other snapshot tables, the rows
are never changed after creation (triggers, as 0006).
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

TABLE = "report_snapshot_chunk"


def _code(length: int) -> sa.String:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("first_code", _code(50), nullable=False),
        sa.Column("last_code", _code(50), nullable=False),
        sa.Column("item_index", sa.LargeBinary(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["report_snapshot.id"],
            name=op.f("fk_report_snapshot_chunk_snapshot_id_report_snapshot"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshot_chunk")),
        sa.UniqueConstraint(
            "snapshot_id", "position", name=op.f("uq_report_snapshot_chunk_snapshot_id")
        ),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_snapshot_chunk_snapshot_id"), ["snapshot_id"], unique=False
        )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"""CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE}
                    BEGIN SELECT RAISE(ABORT, '{TABLE} is never changed after creation'); END"""
            )
    elif dialect == "postgresql":  # snapshot_frozen() is 0006's
        op.execute(
            f"""CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE}
                FOR EACH ROW EXECUTE FUNCTION snapshot_frozen()"""
        )
        op.execute(
            f"""CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
                FOR EACH STATEMENT EXECUTE FUNCTION snapshot_frozen()"""
        )


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{verb}")
    elif dialect == "postgresql":
        for what in ("change", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{what} ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_snapshot_chunk_snapshot_id"))
    op.drop_table(TABLE)
