"""audit trail: who opened a decision record in full

Revision ID: 0033
Revises: 0029
Create Date: 2026-12-05

Issue 24 part 3: staff see a decision record whole (a natural person's full ID number), and
the audit trail records who opened which record. audit_event gains the action "view" (查看).
SQLite cannot change a CHECK constraint in place, so it rebuilds audit_event (no table refers
to it) and puts back its append-only triggers, as 0015 did.
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0029"
branch_labels = None
depends_on = None

OLD_ACTIONS = (
    "create", "draft", "change", "publish", "retire", "discard", "import", "submit", "return",
    "snapshot",
)  # fmt: skip
NEW_ACTIONS = (*OLD_ACTIONS, "view")

SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
)


def _action(values):
    return sa.Enum(*values, name="auditaction", native_enum=False, create_constraint=True,
                   length=max(len(v) for v in values))


def _set_actions(values, old_values) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table("audit_event", recreate="always" if sqlite else "auto") as batch:
        batch.alter_column("action", type_=_action(values), existing_type=_action(old_values),
                           existing_nullable=False)
    if sqlite:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def upgrade():
    _set_actions(NEW_ACTIONS, OLD_ACTIONS)


def downgrade():
    # history is never rewritten: refuse while the trail holds a "view"
    used = op.get_bind().execute(
        sa.text("SELECT 1 FROM audit_event WHERE action = 'view' LIMIT 1")
    ).first()
    if used:
        raise RuntimeError("审计记录中已有查看决定记录的事件，审计记录不可改写，无法降级到 0029。")
    _set_actions(OLD_ACTIONS, NEW_ACTIONS)
