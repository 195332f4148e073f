"""The search index: one row a handling item, rewritten by the services on every change."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem, SearchEntry
from catalog.search.text import normalise, pinyin_of


def index_item(item: ApprovalItem) -> None:
    """Rewrite the search entries of an item's handling items (called by the services)."""
    full, initials = pinyin_of(item.name)
    for handling in item.handling_items:
        body_parts = [handling.situation, item.code, handling.code, item.result_name]
        body_parts += [
            f"{basis.law} {basis.article or ''} {basis.text or ''}" for basis in item.legal_bases
        ]
        body_parts += [material.name for material in handling.materials]
        values = {
            "item_name": normalise(item.name),
            "name": normalise(f"{item.name} {handling.situation}"),
            "body": normalise(" ".join(body_parts)),
            "pinyin": full,
            "initials": initials,
        }
        entry = handling.search_entry
        if entry is None:
            handling.search_entry = SearchEntry(**values)
            continue
        for key, value in values.items():
            if getattr(entry, key) != value:
                setattr(entry, key, value)


def rebuild_index() -> int:
    """Rewrite every search entry (after a migration that added or changed the index)."""
    items = db.session.scalars(sa.select(ApprovalItem)).all()
    with db.session.no_autoflush:
        for item in items:
            index_item(item)
    db.session.flush()
    return sum(len(item.handling_items) for item in items)


def index_is_complete() -> bool:
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(SearchEntry))
    handling = db.session.scalar(sa.select(sa.func.count()).select_from(HandlingItem))
    return entries == handling
