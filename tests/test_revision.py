"""The catalog revision and the caches keyed by it: a change is seen by the next request."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog.drafts import published_data
from catalog.enums import Status
from catalog.models import ApprovalItem
from catalog.operations.items import retire_item
from catalog.public.queries import run_search
from catalog.revision import Cache, current_stamp
from catalog.services import create_item, update_item
from tests.factories import item_data, publish


def test_every_content_change_gives_a_new_stamp_and_drafts_do_not(db):
    assert current_stamp() == ""
    publish(db, item_data(code="A", name="港口经营许可"))
    first = current_stamp()
    assert first
    from catalog.drafts import editable_version
    from catalog.operations.items import save_draft

    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    data = published_data(item)
    data["name"] = "港口经营许可（草稿）"
    save_draft(item, data, actor="t", reason="草稿", expected_version=editable_version(item))
    db.session.commit()
    assert current_stamp() == first  # the public content did not change
    retire_item(item, actor="t", reason="取消")
    db.session.commit()
    assert current_stamp() != first


def test_a_cached_search_follows_the_next_change(db):
    publish(db, item_data(code="A", name="港口经营许可"))
    result, _error = run_search("港口", {})
    assert [hit.item.code for hit in result.hits] == ["A"] and result.total == 1
    item = db.session.scalar(sa.select(ApprovalItem).where(ApprovalItem.code == "A"))
    data = published_data(item)
    data["name"] = "码头经营许可"
    update_item(item, data, actor="t", reason="改名")
    db.session.commit()
    result, _error = run_search("港口", {})
    assert result.total == 0 and result.hits == []
    result, _error = run_search("码头", {})
    assert result.total == 1


def test_the_cache_is_bounded_and_can_be_off():
    calls = []
    cache = Cache(2)
    for key in ("a", "b", "a", "c", "b"):
        cache.get(key, lambda key=key: calls.append(key) or key.upper())
    assert calls == ["a", "b", "c", "b"]  # "b" was the least recently used when "c" came
    off = Cache(0)
    assert [off.get("x", lambda: len(calls)) for _ in range(2)] == [4, 4]


def test_the_stamp_is_written_at_the_commit_not_at_a_savepoint_inside_the_transaction(db):
    """The services flush in savepoints; the stamp row is written at the end (its lock is never
    held while the transaction goes on writing other rows)."""
    publish(db, item_data(code="A", name="港口经营许可"))
    before = current_stamp()
    create_item(item_data(code="B", name="码头经营许可"), status=Status.published)
    assert current_stamp() == before
    db.session.commit()
    assert current_stamp() != before


def test_a_savepoint_rolled_back_keeps_the_change_made_before_it(db):
    publish(db, item_data(code="A", name="港口经营许可"))
    before = current_stamp()
    create_item(item_data(code="B", name="驾驶员培训许可"), status=Status.published)
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.execute(sa.text(  # the row exists: a duplicate key
            "INSERT INTO catalog_revision (id, stamp, changed_at)"
            " VALUES (1, 'x', CURRENT_TIMESTAMP)"
        ))  # fmt: skip
    db.session.commit()
    assert current_stamp() != before
    result, _error = run_search("驾驶员", {})
    assert result.total == 1


def test_what_a_transaction_reads_of_its_own_uncommitted_change_is_kept_for_no_one(db):
    publish(db, item_data(code="A", name="港口经营许可"))
    assert run_search("驾驶员", {})[0].total == 0
    create_item(item_data(code="B", name="驾驶员培训许可"), status=Status.published)
    assert run_search("驾驶员", {})[0].total == 1  # the transaction sees its own change
    db.session.rollback()
    assert run_search("驾驶员", {})[0].total == 0
    publish(db, item_data(code="B", name="驾驶员培训许可"))
    assert run_search("驾驶员", {})[0].total == 1


def test_a_change_not_yet_flushed_is_not_kept_under_the_committed_revision(db):
    """Reading the revision flushes what the session holds; a change it flushes makes the
    revision the transaction's own."""
    from catalog.models import HandlingItem
    from catalog.reports.snapshots import live_source

    publish(db, item_data(code="A", name="港口经营许可"))
    assert live_source().report["no_visit"]["count"] == 1
    handling = db.session.scalar(sa.select(HandlingItem))
    handling.visits, handling.visit_reason = 1, "核验原件"  # pending, not flushed
    assert live_source().report["no_visit"]["count"] == 0
    db.session.rollback()
    assert live_source().report["no_visit"]["count"] == 1
