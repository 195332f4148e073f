"""audit trail: staff exports of full records get their own action

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06

The staff's export of decision records (whole ID numbers among them) was recorded with the
action "view" (0033), as the action list had no export; audit_event gains "export" (导出).
Exports recorded before stay "view" (the trail is append-only): their object code begins
with 批量导出 and their details hold "export".

SQLite cannot change a CHECK constraint in place, so it rebuilds audit_event (no table refers
to it) and puts back its append-only triggers, as 0015 and 0033 did.
"""

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

OLD_ACTIONS = (
    "create", "draft", "change", "publish", "retire", "discard", "import", "submit", "return",
    "snapshot", "view",
)  # fmt: skip
NEW_ACTIONS = (*OLD_ACTIONS, "export")

SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
)


def _action(values):
    return sa.Enum(*values, name="auditaction", native_enum=False, create_constraint=True,
                   length=max(len(v) for v in values))  # fmt: skip


def _set_actions(values, old_values) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table("audit_event", recreate="always" if sqlite else "auto") as batch:
        batch.alter_column("action", type_=_action(values), existing_type=_action(old_values),
                           existing_nullable=False)  # fmt: skip
    if sqlite:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def upgrade():
    _set_actions(NEW_ACTIONS, OLD_ACTIONS)


def downgrade():
    # history is never rewritten: refuse while the trail holds an "export"
    used = op.get_bind().execute(
        sa.text("SELECT 1 FROM audit_event WHERE action = 'export' LIMIT 1")
    ).first()
    if used:
        raise RuntimeError("审计记录中已有导出记录的事件，审计记录不可改写，无法降级到 0040。")
    _set_actions(OLD_ACTIONS, NEW_ACTIONS)
