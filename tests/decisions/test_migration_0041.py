"""Migration 0041 (the audit trail's "export" action: staff exports of full records) on SQLite
and PostgreSQL: the trail is kept, an export event is accepted, the trail stays append-only,
an unknown action is still refused, and a downgrade is refused once an export was recorded."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from catalog.extensions import db as _db
from tests.migrations import app_migrated_to
from tests.test_database_guard import AUDIT, _sql, insert

before_0041 = app_migrated_to("0040")  # the revision before 0041


def _refused(statement: str, **values) -> None:
    with pytest.raises(sa.exc.DatabaseError):
        _sql(statement, **values)
    _db.session.rollback()


def test_0041_accepts_export_events_and_keeps_the_trail_append_only(before_0041, caplog):
    insert(_db, "audit_event", {**AUDIT, "action": "view", "object_code": "批量导出（CSV）"})
    _db.session.commit()
    with pytest.raises(sa.exc.DatabaseError):  # not yet an action
        insert(_db, "audit_event", {**AUDIT, "action": "export"})
    _db.session.rollback()

    upgrade(revision="0041")
    kept = _sql("SELECT action, object_code FROM audit_event").all()
    assert kept == [("view", "批量导出（CSV）")]
    insert(_db, "audit_event", {**AUDIT, "action": "export", "object_code": "批量导出（XLSX）"})
    _db.session.commit()
    with pytest.raises(sa.exc.DatabaseError):
        insert(_db, "audit_event", {**AUDIT, "action": "erase"})
    _db.session.rollback()
    _refused("UPDATE audit_event SET actor = 'forger'")
    _refused("DELETE FROM audit_event")
    assert _sql("SELECT count(*) FROM audit_event").scalar() == 2

    with pytest.raises(SystemExit):  # Flask-Migrate logs the message and exits 1
        downgrade(revision="0040")
    assert "审计记录不可改写，无法降级到 0040" in caplog.text
    _db.session.rollback()
    assert _sql("SELECT version_num FROM alembic_version").scalar() == "0041"
    assert _sql("SELECT count(*) FROM audit_event WHERE action = 'export'").scalar() == 1


def test_0041_downgrades_while_no_export_was_recorded(before_0041):
    upgrade(revision="0041")
    downgrade(revision="0040")
    with pytest.raises(sa.exc.DatabaseError):  # the action is gone again
        insert(_db, "audit_event", {**AUDIT, "action": "export"})
    _db.session.rollback()
    insert(_db, "audit_event", {**AUDIT, "action": "view"})
    _db.session.commit()
    _refused("DELETE FROM audit_event")  # SQLite's rebuilt table has its triggers back
