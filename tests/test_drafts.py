"""Drafts: edits wait for a reviewer; stale versions conflict; the ratio preview is exact.
(The review's states and four eyes: tests/test_operations.py.)"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
import sqlalchemy as sa

from catalog import figures
from catalog.accounts import create_user
from catalog.domain import NotAllowed
from catalog.drafts import current_data, diff, editable_version, preview
from catalog.enums import ReviewState
from catalog.models import AuditAction, AuditEvent, HandlingItem
from catalog.operations.items import EditConflict, save_draft, submit
from catalog.operations.items import publish as publish_submitted
from catalog.services import CatalogValidationError
from tests.factories import handling_item_data, publish
from tests.factories import item_data as make_item

PASSWORD = "许昌交通运输2026审批"


@pytest.fixture
def staff(db):
    editor = create_user("editor1", PASSWORD, "editor")
    reviewer = create_user("reviewer1", PASSWORD, "reviewer")
    return editor, reviewer


@pytest.fixture
def item(db):
    from catalog.models import ApprovalItem

    publish(db, make_item(code="A"), make_item(code="B", name="港口经营许可"))
    return db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))


def publish_draft(item, *, actor, expected_version):
    """Submit the draft (as a command) and publish it as `actor`."""
    submit(item, actor="cli", expected_version=expected_version)
    return publish_submitted(item, actor=actor, expected_version=editable_version(item))


def edited(item, **handling_changes) -> dict:
    data = copy.deepcopy(current_data(item))
    data["handling_items"][0].update(handling_changes)
    return data


def test_canonical_data_of_an_unchanged_item_is_no_change(item, staff):
    with pytest.raises(CatalogValidationError, match="没有任何修改"):
        save_draft(
            item,
            current_data(item),
            actor=staff[0].username,
            reason="无",
            expected_version=editable_version(item),
        )


def test_a_draft_leaves_the_published_rows_alone_until_published(item, staff, db):
    editor, reviewer = staff
    save_draft(
        item,
        edited(item, promised_days=2),
        actor=editor.username,
        reason="压缩时限",
        expected_version=editable_version(item),
    )
    db.session.commit()
    assert (
        db.session.scalar(sa.select(HandlingItem.promised_days).where(HandlingItem.code == "A-01"))
        == 5
    )  # the public still sees 5
    assert current_data(item)["handling_items"][0]["promised_days"] == 2

    changes = publish_draft(item, actor=reviewer, expected_version=editable_version(item))
    db.session.commit()
    assert changes == {
        "handling_items.A-01.promised_days": (5, 2),
        "revision.state": (ReviewState.submitted, None),
    }
    assert item.draft is None
    assert item.handling_items[0].promised_days == 2
    trail = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.actor, e.action) for e in trail[-3:]] == [
        ("editor1", AuditAction.draft),
        ("cli", AuditAction.submit),
        ("reviewer1", AuditAction.publish),
    ]
    assert trail[-1].reason == "压缩时限"


def test_an_editor_cannot_publish(item, staff):
    editor, _reviewer = staff
    save_draft(
        item,
        edited(item, promised_days=2),
        actor=editor.username,
        reason="x",
        expected_version=editable_version(item),
    )
    with pytest.raises(NotAllowed):
        publish_draft(item, actor=editor, expected_version=editable_version(item))


def test_a_stale_version_is_a_conflict_not_an_overwrite(item, staff, db):
    editor, reviewer = staff
    opened = editable_version(item)  # both open the item
    save_draft(
        item,
        edited(item, promised_days=2),
        actor=editor.username,
        reason="第一人",
        expected_version=opened,
    )
    db.session.commit()
    with pytest.raises(EditConflict) as caught:
        save_draft(
            item,
            edited(item, promised_days=4),
            actor=reviewer.username,
            reason="第二人",
            expected_version=opened,
        )
    assert caught.value.current["handling_items"][0]["promised_days"] == 2
    db.session.rollback()
    assert current_data(item)["handling_items"][0]["promised_days"] == 2


def test_rules_are_checked_when_the_draft_is_saved(item, staff):
    with pytest.raises(CatalogValidationError) as caught:
        save_draft(
            item,
            edited(item, promised_days=30),
            actor=staff[0].username,
            reason="x",
            expected_version=editable_version(item),
        )
    assert "handling_items.0.promised_days" in caught.value.errors


def test_ratio_preview_equals_the_figures_after_publishing(item, staff, db):
    editor, reviewer = staff
    data = edited(item, case_type="instant", promised_days=0)
    data["handling_items"].append(
        handling_item_data(code="A-02", statutory_days=None, visits=1, visit_reason="核验")
    )
    result = preview(item, data)
    assert result.before == figures.catalog_figures()
    save_draft(
        item, data, actor=editor.username, reason="拆分", expected_version=editable_version(item)
    )
    publish_draft(item, actor=reviewer, expected_version=editable_version(item))
    db.session.commit()
    assert result.after == figures.catalog_figures()
    assert result.after.instant_share.percent == Decimal("33.33")  # 1 of 3 handling items


def test_diff_matches_handling_items_by_code():
    old = {"name": "a", "handling_items": [{"code": "X", "visits": 0}, {"code": "Y", "visits": 1}]}
    new = {"name": "b", "handling_items": [{"code": "Y", "visits": 1}, {"code": "Z", "visits": 0}]}
    assert diff(old, new) == {
        "name": ("a", "b"),
        "handling_items.X": ({"code": "X", "visits": 0}, None),
        "handling_items.Z": (None, {"code": "Z", "visits": 0}),
    }


@pytest.mark.parametrize("ending", ["discard", "publish unchanged"])
def test_a_form_opened_on_an_ended_draft_never_matches_the_next_one(item, staff, db, ending):
    """The ABA case `make load` found: a draft ends without a change of the published rows,
    the next draft starts at version 1 again, and a stale form must still conflict."""
    from catalog.operations.items import discard as discard_draft

    _editor, reviewer = staff

    def with_promised(days: int) -> dict:
        data = copy.deepcopy(current_data(item))
        data["handling_items"][0]["promised_days"] = days
        return data

    original = current_data(item)["handling_items"][0]["promised_days"]
    save_draft(item, with_promised(original + 1), actor="alice", reason="一", acknowledged=True,
               expected_version=editable_version(item))  # fmt: skip
    stale = editable_version(item)  # bob opens his form now
    if ending == "discard":
        discard_draft(item, actor="carol", expected_version=editable_version(item))
    else:
        save_draft(item, with_promised(original), actor="alice", reason="改回", acknowledged=True,
                   expected_version=editable_version(item))  # fmt: skip
        publish_draft(item, actor=reviewer, expected_version=editable_version(item))
        last = db.session.scalars(
            sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
        ).one()
        assert (last.action, last.actor, last.changes) == (
            AuditAction.publish,
            "reviewer1",
            {"revision.state": ["submitted", None]},
        )
    save_draft(item, with_promised(original + 2), actor="alice", reason="二", acknowledged=True,
               expected_version=editable_version(item))  # fmt: skip
    with pytest.raises(EditConflict):
        save_draft(item, with_promised(original + 3), actor="bob", reason="三", acknowledged=True,
                   expected_version=stale)  # fmt: skip
    assert current_data(item)["handling_items"][0]["promised_days"] == original + 2
