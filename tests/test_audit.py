"""Every change leaves an audit event in the same transaction; the trail is append-only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from catalog.accounts import create_user
from catalog.drafts import editable_version
from catalog.models import AuditAction, AuditEvent
from catalog.operations import items as operations
from catalog.operations.items import retire_item
from catalog.services import (
    CatalogValidationError,
    create_item,
    update_item,
)
from tests.factories import handling_item_data, item_data

PASSWORD = "许昌交通运输2026审批"


def events(db) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()


def test_create_draft_submit_publish_retire_are_audited(db):
    editor = create_user("wang1", PASSWORD, "editor")
    reviewer = create_user("li1", PASSWORD, "reviewer")
    item = operations.create_item(item_data(code="A"), actor=editor, reason="新增事项")
    operations.save_draft(
        item, item_data(handling_item_data(code="A-01", promised_days=3), code="A"),
        actor=editor, reason="压缩承诺时限", expected_version=editable_version(item),
    )  # fmt: skip
    operations.submit(item, actor=editor, expected_version=editable_version(item))
    operations.publish(item, actor=reviewer, expected_version=editable_version(item), note="同意")
    operations.retire_item(item, actor=reviewer, reason="事项取消")
    db.session.commit()
    trail = events(db)
    assert [(e.actor, e.action) for e in trail] == [
        ("wang1", AuditAction.create), ("wang1", AuditAction.draft), ("wang1", AuditAction.submit),
        ("li1", AuditAction.publish), ("li1", AuditAction.retire),
    ]  # fmt: skip
    assert trail[1].changes == {"handling_items.A-01.promised_days": [5, 3]}
    assert trail[1].reason == "压缩承诺时限"
    published = trail[3]
    assert published.changes["status"] == ["unpublished", "published"]
    assert published.changes["handling_items.A-01.status"] == ["unpublished", "published"]
    assert published.changes["handling_items.A-01.promised_days"] == [5, 3]
    assert published.reason == "压缩承诺时限（审核意见：同意）"
    assert published.details["contributors"] == ["wang1"]
    assert published.details["self_published"] is False
    assert published.details["ratios"]["no_visit"] == [None, "100.00"]  # from an empty catalog
    assert trail[4].changes["handling_items.A-01.status"] == ["published", "retired"]
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
    # the 190 items, the windows of the units they name (seed/units.yaml), the baseline snapshot
    assert [e.object_type for e in trail].count("service_unit") == len(seeded.units) == 8
    assert len(trail) == 190 + 8 + 1
    assert {e.actor for e in trail} == {"seed"}
    assert (trail[-1].action, trail[-1].object_code) == (AuditAction.snapshot, "2020")
    assert trail[0].reason.startswith("种子数据")
