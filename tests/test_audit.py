"""Every change leaves an audit event in the same transaction; the trail is append-only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from catalog.models import AuditAction, AuditEvent
from catalog.services import (
    CatalogValidationError,
    create_item,
    publish_item,
    retire_item,
    update_item,
)
from tests.factories import handling_item_data, item_data


def events(db) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()


def test_create_change_publish_retire_are_audited(db):
    item = create_item(item_data(code="A"), actor="wang", reason="新增事项")
    update_item(
        item,
        item_data(handling_item_data(code="A-01", promised_days=3), code="A"),
        actor="wang",
        reason="压缩承诺时限",
    )
    publish_item(item, actor="li", reason="审核通过")
    retire_item(item, actor="li", reason="事项取消")
    db.session.commit()
    trail = events(db)
    assert [(e.actor, e.action) for e in trail] == [
        ("wang", AuditAction.create), ("wang", AuditAction.change),
        ("li", AuditAction.publish), ("li", AuditAction.retire),
    ]  # fmt: skip
    assert trail[1].changes == {"handling_items.A-01.promised_days": [5, 3]}
    assert trail[1].reason == "压缩承诺时限"
    assert trail[2].changes["status"] == ["draft", "published"]
    assert trail[3].changes["handling_items.A-01.status"] == ["published", "retired"]
    assert all(e.object_code == "A" and e.occurred_at is not None for e in trail)


def test_a_change_that_changes_nothing_is_not_audited(db):
    item = create_item(item_data(code="A"))
    update_item(item, item_data(code="A"), actor="wang", reason="无修改")
    db.session.commit()
    assert [e.action for e in events(db)] == [AuditAction.create]


def test_a_refused_change_leaves_no_audit_event(db):
    item = create_item(item_data(code="A"))
    db.session.commit()
    with pytest.raises(CatalogValidationError):
        update_item(
            item,
            item_data(handling_item_data(code="A-01", promised_days=99), code="A"),
            actor="wang",
            reason="错误",
        )
    db.session.rollback()
    assert len(events(db)) == 1


def test_retiring_needs_a_reason(db):
    item = create_item(item_data(code="A"))
    with pytest.raises(CatalogValidationError, match="原因"):
        retire_item(item, actor="li", reason="  ")


def test_the_audit_trail_cannot_be_rewritten(db):
    create_item(item_data(code="A"))
    db.session.commit()
    event = events(db)[0]
    event.reason = "篡改"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(DatabaseError):  # the database refuses too, whatever the client
        db.session.execute(sa.text("UPDATE audit_event SET reason = 'x'"))
    db.session.rollback()
    with pytest.raises(DatabaseError):
        db.session.execute(sa.text("DELETE FROM audit_event"))
    db.session.rollback()
    assert events(db)[0].reason is None


def test_seed_loads_are_audited_as_the_seed(seeded, db):
    trail = events(db)
    assert len(trail) == 190
    assert {e.actor for e in trail} == {"seed"}
    assert trail[0].reason.startswith("种子数据")
