"""The catalog revision and the caches keyed by it: a change is seen by the next request."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.drafts import published_data
from catalog.models import ApprovalItem
from catalog.public.queries import run_search
from catalog.revision import Cache, current_stamp
from catalog.services import retire_item, update_item
from tests.factories import item_data, publish


def test_every_content_change_gives_a_new_stamp_and_drafts_do_not(db):
    assert current_stamp() == ""
    publish(db, item_data(code="A", name="港口经营许可"))
    first = current_stamp()
    assert first
    from catalog.drafts import editable_version, save_draft

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
