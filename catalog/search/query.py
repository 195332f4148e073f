"""Search the published catalog the way people type: short words, abbreviations, pinyin.

A query is split into terms that must all match (AND). A term matches a handling item when it,
or a word the synonym list maps it to, is a substring of the item name and situation or of the
materials, legal bases and result; a term of Latin letters also matches the pinyin or the
initials of the item name. Substring matching works for terms of any length, 1 and 2 Chinese
characters included. Results are ranked: exact name, name prefix, name substring, other fields.
"""

from __future__ import annotations

from collections.abc import Callable

from catalog.revision import Cache, checked_key, is_uncommitted, last_read_key, revision_key
from catalog.search.delta import frame_of
from catalog.search.frame import frames
from catalog.search.part_list import PartSearch, part_list
from catalog.search.ranking import _ranked_page
from catalog.search.results import (
    Filters,
    Hit,
    SearchResult,
    _listed,
    decode_cursor,
    encode_cursor,
)
from catalog.search.terms import NO_SYNONYMS, SearchError, parse_query
from catalog.search.text import Synonyms, normalise

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Searches (query, filters, page) kept per revision of the catalog; the size is the app's
# SEARCH_RESULT_CACHE setting.
results_cache = Cache(2048)


def search(
    query: str,
    filters: Filters,
    *,
    synonyms: Synonyms | Callable[[tuple[str, str]], Synonyms],
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    with_facets: bool = True,
) -> SearchResult:
    """One page of ranked hits with the total, facet counts and the next page's cursor.
    `synonyms` may be a function of the revision key (the app's stored list, kept per
    revision): the one revision read of the search then serves both.

    The revision is the one this process last read (revision.last_read_key) while its frame is
    held, and the statement that reads the page's rows reads the current one with them: one
    round trip for both, a fifth of a search's time in a worker on PostgreSQL
    (docs/search-speed.md, *Round trips*). When the catalog has changed since, the search is
    made again at the revision just read (a second change meanwhile: once more, reading the
    revision first, as revision_key() does)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"每页条数须在1到{MAX_LIMIT}之间。")
    after = decode_cursor(cursor) if cursor else None
    asked = (query, filters, synonyms, after, limit, with_facets)
    assumed = last_read_key()
    if assumed is not None and not frames.holds(assumed):
        assumed = None  # nothing computed at it: worth a statement to know the current one
    for _attempt in range(2):
        if assumed is None:
            break
        result, stamp = _search_at(assumed, *asked, read_stamp=True)
        current = checked_key(assumed, stamp)
        if current == assumed:
            return result
        assumed = current
    return _search_at(revision_key(), *asked, read_stamp=False)[0]


def _search_at(
    revision: tuple[str, str],
    query: str,
    filters: Filters,
    synonyms: Synonyms | Callable[[tuple[str, str]], Synonyms],
    after: tuple[int, str] | None,
    limit: int,
    with_facets: bool,
    *,
    read_stamp: bool,
) -> tuple[SearchResult, str | None]:
    """The search at `revision`, and the stamp read with its page's rows (`read_stamp`: also
    when the page has none)."""
    if callable(synonyms):  # a blank query (browsing) has no word to look up
        synonyms = synonyms(revision) if (query or "").strip() else NO_SYNONYMS
    terms = parse_query(query, synonyms)

    def compute() -> tuple[list[tuple[int, int]], int, dict[str, dict[str, int]]]:
        keep = not is_uncommitted(revision[1])  # a transaction's own: not a base for others
        frame = frames.get(revision, lambda: frame_of(revision, keep=keep))
        parts = PartSearch(part_list(revision), frame.postings) if terms else None
        return _ranked_page(frame, query, terms, filters, after, limit, parts)

    # A search's ranking and counts are kept per revision of the catalog: a repeated search,
    # until the next change, reads one row and the page.
    key = (*revision, tuple(t.words for t in terms), normalise(query), filters, after,
           limit)  # fmt: skip
    rows, total, facets = results_cache.get(key, compute)
    more = len(rows) > limit
    rows = rows[:limit]
    stamp, listed = _listed([row_id for row_id, _rank in rows], read_stamp=read_stamp)
    hits = [Hit(*listed[row_id], rank) for row_id, rank in rows if row_id in listed]
    words = tuple(dict.fromkeys(word for term in terms for word in term.words))
    return SearchResult(
        terms=terms,
        filters=filters,
        hits=hits,
        total=total,
        facets=facets if with_facets else {},
        next_cursor=encode_cursor(hits[-1].rank, hits[-1].handling_item.code)
        if more and hits
        else None,
        highlight_words=words,
    ), stamp
