"""item status 'unpublished'; the database guards three more hard rules

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

The status of an approval item or handling item never published yet is 'unpublished' (未发布),
no longer 'draft': a draft (草稿) is an item's pending revision (item_draft) only. Both status
columns become VARCHAR(11) and their CHECK constraints (ck_approval_item_status,
ck_handling_item_status) take the new value; the rows are converted. Nothing else stores it:
the audit trail keeps the values it recorded (history), snapshots and the stored report hold
published items only, a draft's data holds no status. The seed's digest of what it wrote
(seed_load.content_digest) covers the item's status, but the seed writes published items; only
an unpublished item the seed overwrote with --force was digested as 'draft', and the next seed
run keeps it as edited by staff (as it would after any edit) unless forced again.

Three hard rules of the service layer become CHECK constraints as well: a visit needs a reason
that is not blank (ck_handling_item_visit_needs_reason), an instant item promises 0 days
(ck_handling_item_instant_promised_zero), a fee names its basis (ck_fee_basis_not_blank). Rows
that break them (the services never wrote any) stop the upgrade, listed by code.

PostgreSQL: ALTER TABLE; the wider VARCHAR rewrites nothing, the new constraints read every row.
SQLite cannot alter a constraint: approval_item, handling_item and fee are rebuilt by SQLite's
12-step procedure (https://www.sqlite.org/lang_altertable.html#otheralter): the stored CREATE
TABLE with exactly the edits below, the rows copied, the table's indexes and triggers created
again. With foreign keys on, the DROP TABLE of the old table would delete every material, fee,
step, search entry, legal basis and draft through ON DELETE CASCADE; SQLite turns them off only
outside a transaction. So the rebuild commits what the upgrade did before it (a finished
revision), runs in a transaction of its own with foreign keys off, commits after PRAGMA
foreign_key_check finds nothing, and turns them on again; Alembic then records the revision.
Run again after a crash between the two commits, it leaves the rebuilt tables alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD_STATUS, NEW_STATUS = "draft", "unpublished"
STATUS_TABLES = ("approval_item", "handling_item")
# (name, table, condition, what a row that breaks it lacks)
GUARDS = (
    ("ck_handling_item_visit_needs_reason", "handling_item",
     "visits = 0 OR trim(coalesce(visit_reason, '')) <> ''", "到办事现场次数不为0，但没有说明原因"),
    ("ck_handling_item_instant_promised_zero", "handling_item",
     "case_type <> 'instant' OR promised_days = 0", "即办件的承诺时限不为0"),
    ("ck_fee_basis_not_blank", "fee", "trim(basis) <> ''", "收费项目没有收费依据"),
)  # fmt: skip
REBUILT = ("approval_item", "handling_item", "fee")  # parents first


def _status_check(value: str) -> str:
    return f"status IN ('{value}', 'published', 'retired')"


def _length(value: str) -> int:
    return max(len(value), len("published"))


# SQLite: the edits of each table's stored CREATE TABLE, as (before, after) fragments
def _status_edits(old: str, new: str) -> list[tuple[str, str]]:
    return [
        (f"status VARCHAR({_length(old)}) NOT NULL", f"status VARCHAR({_length(new)}) NOT NULL"),
        (f"CHECK ({_status_check(old)})", f"CHECK ({_status_check(new)})"),
    ]


def _guard_clauses(table: str) -> list[str]:
    return [f",\n\tCONSTRAINT {name} CHECK ({condition})"
            for name, guarded, condition, _lack in GUARDS if guarded == table]  # fmt: skip


def upgrade():
    connection = op.get_bind()
    _refuse_breaches(connection)
    if connection.dialect.name == "sqlite":
        _sqlite_rebuild(connection, OLD_STATUS, NEW_STATUS, guarded=True)
        return
    for table in STATUS_TABLES:
        _postgres_status(table, OLD_STATUS, NEW_STATUS)
    for name, table, condition, _lack in GUARDS:
        op.create_check_constraint(op.f(name), table, condition)


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        _sqlite_rebuild(connection, NEW_STATUS, OLD_STATUS, guarded=False)
        return
    for name, table, _condition, _lack in GUARDS:
        op.drop_constraint(op.f(name), table, type_="check")
    for table in STATUS_TABLES:
        _postgres_status(table, NEW_STATUS, OLD_STATUS)


def _refuse_breaches(connection: sa.Connection) -> None:
    """Stop before changing anything when rows break a new constraint, naming them."""
    problems = []
    for _name, table, condition, lack in GUARDS:
        rows = "handling_item" if table == "handling_item" else (
            "fee JOIN handling_item ON handling_item.id = fee.handling_item_id")  # fmt: skip
        codes = connection.scalars(sa.text(
            f"SELECT DISTINCT handling_item.code FROM {rows} WHERE NOT ({condition})"
            " ORDER BY handling_item.code"
        )).all()  # fmt: skip
        if codes:
            problems.append(f"{lack}：{'、'.join(codes)}")
    if problems:
        raise RuntimeError(
            "以下业务办理项不符合规则，请先改正（例如在工作人员页面编辑）再升级："
            + "；".join(problems)
        )


def _postgres_status(table: str, old: str, new: str) -> None:
    name = op.f(f"ck_{table}_status")
    op.drop_constraint(name, table, type_="check")
    if len(new) > len(old):
        op.alter_column(table, "status", type_=sa.String(_length(new)),
                        existing_type=sa.String(_length(old)), existing_nullable=False)  # fmt: skip
    op.execute(f"UPDATE {table} SET status = '{new}' WHERE status = '{old}'")
    if len(new) < len(old):
        op.alter_column(table, "status", type_=sa.String(_length(new)),
                        existing_type=sa.String(_length(old)), existing_nullable=False)  # fmt: skip
    op.create_check_constraint(name, table, _status_check(new))


def _sqlite_rebuild(connection: sa.Connection, old: str, new: str, *, guarded: bool) -> None:
    """The 12 steps, for the three tables, in one transaction with foreign keys off."""
    driver = connection.connection.driver_connection
    if driver.in_transaction:
        driver.commit()  # the revisions before this one; PRAGMA foreign_keys needs no transaction
    foreign_keys = driver.execute("PRAGMA foreign_keys").fetchall()[0][0]
    driver.execute("PRAGMA foreign_keys = OFF")
    try:
        driver.execute("BEGIN")
        for table in REBUILT:
            edits = _status_edits(old, new) if table in STATUS_TABLES else []
            added, removed = (_guard_clauses(table), []) if guarded else ([], _guard_clauses(table))
            _rebuild_table(connection, table, edits, added, removed, old, new)
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:10]}")
        driver.commit()
    except BaseException:
        driver.rollback()
        raise
    finally:
        driver.execute(f"PRAGMA foreign_keys = {foreign_keys}")


def _rebuild_table(connection, table, edits, added, removed, old, new) -> None:
    create = connection.scalar(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"
    ), {"name": table})  # fmt: skip
    definition = create[create.index("(") :]  # after the name, which a RENAME quotes
    done = (
        all(after in definition and before not in definition for before, after in edits)
        and all(clause in definition for clause in added)
        and not any(clause in definition for clause in removed)
    )
    if done:  # rebuilt by a run whose revision was not recorded
        return
    for before, after in edits:
        _expect_once(table, definition, before)
        definition = definition.replace(before, after)
    for clause in removed:
        _expect_once(table, definition, clause)
        definition = definition.replace(clause, "")
    if added:
        if not definition.endswith("\n)"):
            raise RuntimeError(f"{table}: the stored CREATE TABLE does not end in a line ')'")
        definition = definition[:-2] + "".join(added) + "\n)"

    others = connection.execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE tbl_name = :name"
        " AND type IN ('index', 'trigger') AND sql IS NOT NULL"
    ), {"name": table}).scalars().all()  # fmt: skip
    columns = [row[1] for row in connection.exec_driver_sql(f'PRAGMA table_info("{table}")')]
    names = ", ".join(f'"{column}"' for column in columns)
    values = ", ".join(
        f"CASE status WHEN '{old}' THEN '{new}' ELSE status END"
        if column == "status" and edits
        else f'"{column}"'
        for column in columns
    )
    staged = f"_new_{table}"
    connection.exec_driver_sql(f'CREATE TABLE "{staged}" {definition}')
    connection.exec_driver_sql(f'INSERT INTO "{staged}" ({names}) SELECT {values} FROM "{table}"')
    connection.exec_driver_sql(f'DROP TABLE "{table}"')
    connection.exec_driver_sql(f'ALTER TABLE "{staged}" RENAME TO "{table}"')
    for statement in others:
        connection.exec_driver_sql(statement)


def _expect_once(table: str, definition: str, fragment: str) -> None:
    if definition.count(fragment) != 1:
        raise RuntimeError(f"{table}: the stored CREATE TABLE does not have {fragment!r} once")
