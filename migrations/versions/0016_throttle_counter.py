"""sign-in throttle counters in the database; the sign-in log records a cleared lockout

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

throttle_counter holds the fixed-window counters of the sign-in throttle when they are kept in
the app's own database (RATELIMIT_STORAGE_URI=database://, the default; catalog.throttle_storage):
one row per key, its count and the end of its window in seconds since the epoch, indexed for
the deletion of ended windows. auth_event gains the kind lockout_cleared (an admin cleared a
lockout). SQLite cannot change a CHECK constraint in place, so it rebuilds auth_event (no table
refers to it) with its append-only triggers, as 0015 did for audit_event.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "login_ok", "login_failed", "login_throttled", "logout", "session_refused",
    "session_expired", "access_refused", "password_changed", "password_reset",
    "account_created", "account_disabled",
)  # fmt: skip
NEW_KINDS = (*OLD_KINDS, "lockout_cleared")

SQLITE_TRIGGERS = (
    """CREATE TRIGGER auth_event_no_update BEFORE UPDATE ON auth_event
       BEGIN SELECT RAISE(ABORT, 'auth_event is append-only'); END""",
    """CREATE TRIGGER auth_event_no_delete BEFORE DELETE ON auth_event
       BEGIN SELECT RAISE(ABORT, 'auth_event is append-only'); END""",
)


def _kind(values):
    return sa.Enum(*values, name="autheventkind", native_enum=False, create_constraint=True,
                   length=max(len(v) for v in (*OLD_KINDS, *NEW_KINDS)))  # fmt: skip


def _set_kinds(values, old_values) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS auth_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS auth_event_no_delete")
    with op.batch_alter_table("auth_event", recreate="always" if sqlite else "auto") as batch:
        batch.alter_column("kind", type_=_kind(values), existing_type=_kind(old_values),
                           existing_nullable=False)  # fmt: skip
    if sqlite:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def upgrade():
    op.create_table(
        "throttle_counter",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttle_counter")),
    )
    with op.batch_alter_table("throttle_counter") as batch:
        batch.create_index(batch.f("ix_throttle_counter_expires_at"), ["expires_at"])
    _set_kinds(NEW_KINDS, OLD_KINDS)


def downgrade():
    # the sign-in log is never rewritten: refuse, before changing anything, while it holds a
    # cleared lockout (on SQLite a failure inside the rebuild would leave its copy behind)
    cleared = op.get_bind().execute(sa.text(
        "SELECT COUNT(*) FROM auth_event WHERE kind = 'lockout_cleared'"
    )).scalar()  # fmt: skip
    if cleared:
        raise RuntimeError(
            f"登录日志中已有 {cleared} 条解除登录锁定的记录，登录日志不可改写，无法降级到 0015。"
        )
    _set_kinds(OLD_KINDS, NEW_KINDS)
    with op.batch_alter_table("throttle_counter") as batch:
        batch.drop_index(batch.f("ix_throttle_counter_expires_at"))
    op.drop_table("throttle_counter")
