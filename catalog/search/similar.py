"""Names to offer when a search finds nothing: the published items whose names share the most
with the query, by the cheap measures search already has: pairs of characters of the name,
single characters when no pair is shared, and the pinyin or initials of a Latin query's start."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.enums import Status
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem, SearchEntry
from catalog.search.terms import MAX_QUERY_LENGTH, _contains, _starts
from catalog.search.text import LATIN_PATTERN, TERM_PATTERN, normalise

MAX_PIECES = 20


def _ranked(conditions: list[sa.ColumnElement[bool]], limit: int) -> list[tuple[str, str]]:
    """(code, name) of the published items matching the most of `conditions` (in any of their
    handling items' entries), most first, then by code."""
    shared = sum((sa.case((c, 1), else_=0) for c in conditions), sa.literal(0))
    rows = db.session.execute(
        sa.select(ApprovalItem.code, ApprovalItem.name, sa.func.max(shared).label("shared"))
        .join(HandlingItem, HandlingItem.item_id == ApprovalItem.id)
        .join(SearchEntry, SearchEntry.handling_item_id == HandlingItem.id)
        .where(ApprovalItem.status == Status.published, HandlingItem.status == Status.published)
        .where(sa.or_(*conditions))
        .group_by(ApprovalItem.code, ApprovalItem.name)
        .order_by(sa.desc("shared"), ApprovalItem.code)
        .limit(limit)
    )
    return [(code, name) for code, name, _shared in rows]


def _spelt(text: str, limit: int) -> list[tuple[str, str]]:
    """A Latin query: the names whose pinyin or initials begin with the longest start of it
    that any name has (wangyuechex -> wangyueche...), at least two letters."""
    for end in range(min(len(text), 30), 1, -1):
        start = text[:end]
        found = _ranked([_starts(SearchEntry.pinyin, start),
                         _starts(SearchEntry.initials, start)], limit)  # fmt: skip
        if found:
            return found
    return []


def similar_names(query: str, *, limit: int = 5) -> list[tuple[str, str]]:
    """(code, name) of published items nearest to `query`, for an empty result page: a
    misspelt or over-long query usually shares a few pairs of characters (else characters, or
    the start of its pinyin) with the name that was meant."""
    words = TERM_PATTERN.findall(normalise(query or ""))
    text = "".join(words)[:MAX_QUERY_LENGTH]
    if len(words) == 1 and LATIN_PATTERN.match(text):
        return _spelt(text, limit)
    pieces = list(dict.fromkeys(text[i : i + 2] for i in range(len(text) - 1)))[:MAX_PIECES]
    found = _ranked([_contains(SearchEntry.item_name, p) for p in pieces], limit) if pieces else []
    if not found:
        characters = [c for c in dict.fromkeys(text) if not c.isascii()][:MAX_PIECES]
        if characters:
            found = _ranked([_contains(SearchEntry.item_name, c) for c in characters], limit)
    return found
