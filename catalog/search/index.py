"""The search index: one row a handling item, rewritten by the services on every change."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem, SearchEntry
from catalog.search.common import common_bits
from catalog.search.text import character_grams, normalise, pinyin_of


def entry_values(
    *,
    item_name: str,
    item_code: str,
    result_name: str,
    legal_bases: Iterable[tuple[str, str | None, str | None]],
    handling_code: str,
    situation: str,
    material_names: Iterable[str],
    pinyin: tuple[str, str] | None = None,
) -> dict[str, str | bytes]:
    """The search entry of one handling item, from plain values (the services and the bulk
    generator both write it through here)."""
    full, initials = pinyin or pinyin_of(item_name)
    body_parts = [situation, item_code, handling_code, result_name]
    body_parts += [f"{law} {article or ''} {text or ''}" for law, article, text in legal_bases]
    body_parts += list(material_names)
    name = normalise(f"{item_name} {situation}")
    body = normalise(" ".join(body_parts))
    return {
        "item_name": normalise(item_name),
        "name": name,
        "body": body,
        "pinyin": full,
        "initials": initials,
        **grams_values(name, body),
    }


def grams_values(name: str, body: str) -> dict[str, str | bytes]:
    """The character columns of a search entry: the name's characters and pairs, those of the
    name and body (what the index of 1- and 2-character words reads), and which of the common
    ones they are."""
    name_grams = character_grams(name)
    grams = f"{name_grams} {character_grams(body)}"
    return {"name_chars": name_grams, "chars": grams, "common": common_bits(grams)}


def index_item(item: ApprovalItem) -> None:
    """Rewrite the search entries of an item's handling items (called by the services)."""
    reading = pinyin_of(item.name)
    bases = [(basis.law, basis.article, basis.text) for basis in item.legal_bases]
    for handling in item.handling_items:
        values = entry_values(
            item_name=item.name,
            item_code=item.code,
            result_name=item.result_name,
            legal_bases=bases,
            handling_code=handling.code,
            situation=handling.situation,
            material_names=[material.name for material in handling.materials],
            pinyin=reading,
        )
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
