"""What a migration that adds an action to the audit trail must do (0033 "view", 0041
"export"), told once: the trail is kept, the new action is accepted, the trail stays
append-only, an unknown action is still refused, and a downgrade is refused once the new
action was recorded; while none was, the downgrade works and takes the action away again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.extensions import db as _db
from tests.test_database_guard import AUDIT, _sql, insert


def refused(statement: str, **values) -> None:
    """The statement is refused by the database (a trigger or a constraint); rolled back."""
    with pytest.raises(sa.exc.DatabaseError):
        _sql(statement, **values)
    _db.session.rollback()


def _insert_refused(action: str) -> None:
    with pytest.raises(sa.exc.DatabaseError):
        insert(_db, "audit_event", {**AUDIT, "action": action})
    _db.session.rollback()


def assert_action_added(caplog, *, action: str, revision: str, previous: str,
                        kept: tuple[str, str], code: str) -> None:  # fmt: skip
    """On a database at `previous` holding nothing: an event `kept` (action, object code) is
    recorded before, `revision` accepts `action` (recorded with `code`) and keeps the rest as
    it was, and refuses to go back to `previous` once one was recorded."""
    insert(_db, "audit_event", {**AUDIT, "action": kept[0], "object_code": kept[1]})
    _db.session.commit()
    _insert_refused(action)  # not yet an action

    upgrade(revision=revision)
    assert _sql("SELECT action, object_code FROM audit_event").all() == [kept]
    insert(_db, "audit_event", {**AUDIT, "action": action, "object_code": code})
    _db.session.commit()
    _insert_refused("erase")
    refused("UPDATE audit_event SET actor = 'forger'")
    refused("DELETE FROM audit_event")
    assert _sql("SELECT count(*) FROM audit_event").scalar() == 2

    with pytest.raises(SystemExit):  # Flask-Migrate logs the message and exits 1
        downgrade(revision=previous)
    assert f"审计记录不可改写，无法降级到 {previous}" in caplog.text
    _db.session.rollback()
    assert _sql("SELECT version_num FROM alembic_version").scalar() == revision
    assert _sql("SELECT count(*) FROM audit_event WHERE action = :a", a=action).scalar() == 1


def assert_downgrade_while_unused(*, action: str, revision: str, previous: str) -> None:
    """`revision` goes back to `previous` while no `action` was recorded: the action is
    refused again, and the trail is still append-only."""
    upgrade(revision=revision)
    downgrade(revision=previous)
    _insert_refused(action)
    insert(_db, "audit_event", {**AUDIT, "action": "create"})
    _db.session.commit()
    refused("DELETE FROM audit_event")  # SQLite's rebuilt table has its triggers back
