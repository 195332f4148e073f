"""The search index: one row a handling item, rewritten by the services on every change."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa

from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem, SearchEntry
from catalog.search.changes import everything_changed
from catalog.search.common import common_bytes, common_mask
from catalog.search.parts import Parts, remember
from catalog.search.text import character_grams, normalise, pinyin_of


def entry_values(**kwargs) -> dict[str, str | bytes]:
    """The search entry of one handling item, from plain values (entry_and_parts)."""
    return entry_and_parts(**kwargs)[0]


def entry_and_parts(
    *,
    item_name: str,
    item_code: str,
    result_name: str | None,
    legal_bases: Iterable[tuple[str, str | None, str | None]],
    handling_code: str,
    situation: str | None,
    material_names: Iterable[str],
    pinyin: tuple[str, str] | None = None,
) -> tuple[dict[str, str | bytes], Parts]:
    """The search entry of one handling item, from plain values (the services and the bulk
    generator both write it through here), and its parts (catalog.search.parts).

    Its name is the item's name and the situation; its body the situation, the codes, the
    result's name, the legal bases and the material names, separated by spaces; its common bits
    those of the characters and pairs of the name and of the body without the codes. Each of
    them is read apart (_text_part) and the results joined, which is the same as reading the
    joined text: normalising a space changes nothing on either side of it, and no pair of
    characters spans one."""
    full, initials = pinyin or pinyin_of(item_name)
    # a situation or result not provided (None: catalog.elements) is left out; any text, even
    # empty, is read as before, so an entry is the joined text read whole (tests/test_search.py)
    body_parts = [
        part for part in (situation, item_code, handling_code, result_name) if part is not None
    ]
    body_parts += [f"{law} {article or ''} {text or ''}" for law, article, text in legal_bases]
    body_parts += material_names
    name = _text_part(item_name if situation is None else f"{item_name} {situation}")
    body = [_text_part(part) for part in body_parts]
    codes = 0 if situation is None else 1  # where the two codes are in the body
    # the codes are left out of the parts and the common bits: a word of 1 or 2 characters does
    # not match inside a code (every generated code begins with HN-, the bureau's with XCJT-:
    # such a word was in every entry, migration 0037); 3+ find them (trigrams of the body)
    uncoded = body[:codes] + body[codes + 2 :]
    common = name.common
    for part in uncoded:
        common |= part.common
    # the codes are left out of the parts: they hold letters, digits, - and _ only
    # (schemas.CODE_PATTERN), where a word looked up through the parts has another character
    texts = [name.text] + [part.text for part in uncoded]
    parts = tuple(dict.fromkeys((text, index == 0) for index, text in enumerate(texts) if text))
    values = {
        "item_name": normalise(item_name),
        "name": name.text,
        "body": " ".join(part.text for part in body),
        "pinyin": full,
        "initials": initials,
        "common": common_bytes(common),
    }
    return values, parts


class TextPart(NamedTuple):
    text: str  # normalised
    common: int  # which of the common characters and pairs it has (common_mask)


@lru_cache(maxsize=16_384)
def _text_part(text: str) -> TextPart:
    """One part of an entry's text, read for the index. Cached: the same material names,
    legal bases and item names come back in entry after entry (a province's 300,000 entries
    have a few thousand different parts besides their codes)."""
    normalised = normalise(text)
    return TextPart(normalised, common_mask(character_grams(normalised)))


def index_item(item: ApprovalItem) -> None:
    """Rewrite the search entries of an item's handling items (called by the services)."""
    reading = pinyin_of(item.name)
    bases = [(basis.law, basis.article, basis.text) for basis in item.legal_bases]
    for handling in item.handling_items:
        values, parts = entry_and_parts(
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
            entry = handling.search_entry = SearchEntry(**values)
        else:
            for key, value in values.items():
                if getattr(entry, key) != value:
                    setattr(entry, key, value)
        remember(db.session, entry, parts)  # written after the flush (catalog.search.parts)


def rebuild_index() -> int:
    """Rewrite every search entry (after a migration that added or changed the index)."""
    items = db.session.scalars(sa.select(ApprovalItem)).all()
    with db.session.no_autoflush:
        for item in items:
            index_item(item)
    db.session.flush()
    everything_changed(db.session.connection())  # tables may have been changed by hand
    return sum(len(item.handling_items) for item in items)


def index_is_complete() -> bool:
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(SearchEntry))
    handling = db.session.scalar(sa.select(sa.func.count()).select_from(HandlingItem))
    return entries == handling
