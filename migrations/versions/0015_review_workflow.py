"""review workflow: a draft's state, contributors and acknowledgements; audit details

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

An item's draft is its one pending revision, now with a review state (draft, submitted,
returned), the reviewer's note when it was returned, who submitted it, everyone who saved a
change into it (four eyes: none of them publishes it) and the policy warnings acknowledged on
saving. Existing drafts were waiting for a reviewer: they become "submitted", their author the
one contributor. audit_event gains `details` (acknowledged warnings, the effect on the ratios,
self-published) and three actions: submit, return, snapshot. SQLite cannot change a CHECK
constraint in place, so it rebuilds audit_event (no table refers to it) with its append-only
triggers, and item_draft (likewise).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

OLD_ACTIONS = ("create", "draft", "change", "publish", "retire", "discard", "import")
NEW_ACTIONS = (*OLD_ACTIONS, "submit", "return", "snapshot")
STATES = ("draft", "submitted", "returned")

SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
)


def _action(values):
    return sa.Enum(*values, name="auditaction", native_enum=False, create_constraint=True,
                   length=max(len(v) for v in values))


def _set_actions(values, old_values, *, drop_details: bool = False) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table("audit_event", recreate="always" if sqlite else "auto") as batch:
        batch.alter_column("action", type_=_action(values), existing_type=_action(old_values),
                           existing_nullable=False)
        if drop_details:
            batch.drop_column("details")
    if sqlite:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def upgrade():
    with op.batch_alter_table("item_draft") as batch:
        batch.add_column(sa.Column(
            "state",
            sa.Enum(*STATES, name="reviewstate", native_enum=False, create_constraint=True,
                    length=9),
            nullable=False, server_default="draft",
        ))
        batch.add_column(sa.Column("contributors", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("acknowledgements", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("submitted_by", sa.String(length=50), nullable=True))
        batch.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=50), nullable=True))
    drafts = sa.table(
        "item_draft", sa.column("state", sa.String), sa.column("author", sa.String),
        sa.column("contributors", sa.JSON), sa.column("acknowledgements", sa.JSON),
        sa.column("submitted_by", sa.String), sa.column("updated_at", sa.DateTime),
        sa.column("submitted_at", sa.DateTime), sa.column("id", sa.Integer),
    )
    bind = op.get_bind()
    for draft_id, author in bind.execute(sa.select(drafts.c.id, drafts.c.author)).all():
        bind.execute(
            drafts.update().where(drafts.c.id == draft_id).values(
                state="submitted", contributors=[author], acknowledgements=[],
                submitted_by=author, submitted_at=drafts.c.updated_at,
            )
        )
    with op.batch_alter_table("item_draft") as batch:
        batch.alter_column("contributors", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("acknowledgements", existing_type=sa.JSON(), nullable=False)
    op.add_column("audit_event", sa.Column("details", sa.JSON(), nullable=True))
    _set_actions(NEW_ACTIONS, OLD_ACTIONS)


def downgrade():
    # history is never rewritten: refuse, before changing anything, while the trail holds one
    # of the new actions (on SQLite a failure inside the rebuild would leave its copy behind)
    used = op.get_bind().execute(sa.text(
        "SELECT DISTINCT action FROM audit_event WHERE action IN ('submit', 'return', 'snapshot')"
    )).scalars().all()
    if used:
        raise RuntimeError(
            "审计记录中已有提交审核、退回修改或生成快照的记录（" + "、".join(sorted(used))
            + "），审计记录不可改写，无法降级到 0014。"
        )
    _set_actions(OLD_ACTIONS, NEW_ACTIONS, drop_details=True)
    with op.batch_alter_table("item_draft") as batch:
        batch.drop_constraint(op.f("ck_item_draft_reviewstate"), type_="check")
        for column in ("reviewed_by", "review_note", "submitted_at", "submitted_by",
                       "acknowledgements", "contributors", "state"):
            batch.drop_column(column)
