"""national elements beyond what the ratios read may be missing

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

A bureau's spreadsheet often lacks elements the catalog used to require (issue 21): only what
the ratios read stays required (item code, name, type; per handling item its code, case type,
limits and visits). The other columns accept NULL, meaning "not provided" (catalog.elements lists
an item's gaps): approval_item's implementing_body, handling_unit, exercise_level,
power_source, conditions, result_name, result_type, consultation, complaint, location and
hours; handling_item's situation, online_depth and charges_fee. A visit without its reason is a
gap as well: ck_handling_item_visit_needs_reason becomes ck_handling_item_visit_reason_not_blank
(a reason, when given, is not blank). Existing rows are unchanged.

PostgreSQL: ALTER TABLE. SQLite: the stored CREATE TABLE is edited in place, SQLite's documented
procedure for removing NOT NULL and CHECK constraints
(https://www.sqlite.org/lang_altertable.html#otheralter, "simpler procedure"): no row is
copied, and the new constraint holds for every row the old one held for.

The downgrade puts the constraints back; it stops, changing nothing and naming the items, while
any row lacks one of these elements.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# (column, its type as SQLAlchemy and as SQLite's stored CREATE TABLE writes it)
OPTIONAL = {
    "approval_item": (
        ("implementing_body", sa.String(100), "VARCHAR(100)"),
        ("handling_unit", sa.String(100), "VARCHAR(100)"),
        ("exercise_level", sa.String(8), "VARCHAR(8)"),
        ("power_source", sa.String(22), "VARCHAR(22)"),
        ("conditions", sa.Text(), "TEXT"),
        ("result_name", sa.String(200), "VARCHAR(200)"),
        ("result_type", sa.String(17), "VARCHAR(17)"),
        ("consultation", sa.Text(), "TEXT"),
        ("complaint", sa.Text(), "TEXT"),
        ("location", sa.Text(), "TEXT"),
        ("hours", sa.Text(), "TEXT"),
    ),
    "handling_item": (
        ("situation", sa.String(100), "VARCHAR(100)"),
        ("online_depth", sa.Integer(), "INTEGER"),
        ("charges_fee", sa.Boolean(), "BOOLEAN"),
    ),
}
OLD_CHECK = (
    "ck_handling_item_visit_needs_reason",
    "visits = 0 OR trim(coalesce(visit_reason, '')) <> ''",
)
NEW_CHECK = (
    "ck_handling_item_visit_reason_not_blank",
    "visits = 0 OR visit_reason IS NULL OR trim(visit_reason) <> ''",
)


def upgrade():
    _change(OLD_CHECK, NEW_CHECK, nullable=True)


def downgrade():
    _refuse_gaps(op.get_bind())
    _change(NEW_CHECK, OLD_CHECK, nullable=False)


def _change(old_check, new_check, *, nullable: bool) -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        _sqlite_edit(connection, old_check, new_check, nullable=nullable)
        return
    for table, columns in OPTIONAL.items():
        for column, type_, _stored in columns:
            op.alter_column(table, column, existing_type=type_, nullable=nullable)
    op.drop_constraint(op.f(old_check[0]), "handling_item", type_="check")
    op.create_check_constraint(op.f(new_check[0]), "handling_item", new_check[1])


def _sqlite_edit(connection: sa.Connection, old_check, new_check, *, nullable: bool) -> None:
    """Edit each table's stored CREATE TABLE (see the docstring): NOT NULL removed or added
    on the columns above, the old CHECK clause replaced by the new one."""
    edits = {}
    for table, columns in OPTIONAL.items():
        sql = connection.scalar(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
            {"name": table},
        )
        for column, _type, stored in columns:
            required, optional = f"\t{column} {stored} NOT NULL,", f"\t{column} {stored},"
            before, after = (required, optional) if nullable else (optional, required)
            if sql.count(before) != 1:
                raise RuntimeError(f"{table}: the stored CREATE TABLE lacks {before.strip()!r}")
            sql = sql.replace(before, after)
        if table == "handling_item":
            old = f"CONSTRAINT {old_check[0]} CHECK ({old_check[1]})"
            if sql.count(old) != 1:
                raise RuntimeError(f"{table}: the stored CREATE TABLE lacks {old!r}")
            sql = sql.replace(old, f"CONSTRAINT {new_check[0]} CHECK ({new_check[1]})")
        edits[table] = sql
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
    connection.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        for table, sql in edits.items():
            connection.execute(
                sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :name"),
                {"sql": sql, "name": table},
            )
        connection.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        connection.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check after editing the schema: {problems[:5]}")


def _refuse_gaps(connection: sa.Connection) -> None:
    """The downgrade stops before changing anything while rows lack an element."""
    codes = set()
    for table, columns in OPTIONAL.items():
        nulls = " OR ".join(f"{column} IS NULL" for column, _type, _stored in columns)
        code = "code" if table == "approval_item" else (
            "(SELECT code FROM approval_item WHERE approval_item.id = handling_item.item_id)")  # fmt: skip
        codes.update(connection.scalars(sa.text(f"SELECT {code} FROM {table} WHERE {nulls}")))
    codes.update(connection.scalars(sa.text(
        "SELECT approval_item.code FROM handling_item JOIN approval_item"
        " ON approval_item.id = handling_item.item_id"
        f" WHERE NOT ({OLD_CHECK[1]})"
    )))  # fmt: skip
    if codes:
        listed = sorted(codes)
        raise RuntimeError(
            "以下事项缺少要素，补全后才能降级到 0017："
            + "、".join(listed[:50])
            + ("等" if len(listed) > 50 else "")
        )

