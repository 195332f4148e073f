"""Migration 0033 (the audit trail's "view" action: who opened a decision record) on SQLite
and PostgreSQL: the trail is kept, a view event is accepted, the trail stays append-only, an
unknown action is still refused, and a downgrade is refused once a view was recorded."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.extensions import db as _db
from tests.migrations import app_migrated_to
from tests.test_database_guard import AUDIT, _sql, insert

before_0033 = app_migrated_to("0029")  # the revision before 0033


def _refused(statement: str, **values) -> None:
    with pytest.raises(sa.exc.DatabaseError):
        _sql(statement, **values)
    _db.session.rollback()


def test_0033_accepts_view_events_and_keeps_the_trail_append_only(before_0033, caplog):
    insert(_db, "audit_event", {**AUDIT, "action": "publish", "object_code": "K-1"})
    _db.session.commit()
    with pytest.raises(sa.exc.DatabaseError):  # not yet an action
        insert(_db, "audit_event", {**AUDIT, "action": "view"})
    _db.session.rollback()

    upgrade(revision="0033")
    assert _sql("SELECT action, object_code FROM audit_event").all() == [("publish", "K-1")]
    insert(_db, "audit_event", {**AUDIT, "action": "view", "object_code": "许交执罚〔2020〕1号"})
    _db.session.commit()
    with pytest.raises(sa.exc.DatabaseError):
        insert(_db, "audit_event", {**AUDIT, "action": "erase"})
    _db.session.rollback()
    _refused("UPDATE audit_event SET actor = 'forger'")
    _refused("DELETE FROM audit_event")
    assert _sql("SELECT count(*) FROM audit_event").scalar() == 2

    with pytest.raises(SystemExit):  # Flask-Migrate logs the message and exits 1
        downgrade(revision="0029")
    assert "审计记录不可改写，无法降级到 0029" in caplog.text
    _db.session.rollback()
    assert _sql("SELECT version_num FROM alembic_version").scalar() == "0033"
    assert _sql("SELECT count(*) FROM audit_event WHERE action = 'view'").scalar() == 1
