"""The ranking of a search's matches, over the frame's arrays: exact name, name prefix, every
term in the name, other fields; then code order, from a keyset cursor's place."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from catalog.extensions import db
from catalog.models import HandlingItem
from catalog.search.frame import Frame
from catalog.search.lookups import _all_terms
from catalog.search.part_list import PartSearch
from catalog.search.results import Filters
from catalog.search.terms import Spelling, Term, _matching_words, spells
from catalog.search.text import normalise


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where in `ids` (sorted) the wanted ids are, for those that are there."""
    places = np.searchsorted(ids, wanted)
    inside = places < len(ids)
    places, wanted = places[inside], wanted[inside]
    return places[ids[places] == wanted]


def _name_ranks(
    frame: Frame, ids: np.ndarray, query: str, terms: list[Term], parts: PartSearch | None = None
) -> np.ndarray:
    """The rank of each of `ids` (sorted): 0 exact name, 1 name prefix, else 3 (found in other
    fields) until _ranked_page tells apart 2 (every term in the name). A single Latin term is
    also an exact name when it is the name's whole pinyin or initials, and a prefix when it
    begins its pinyin: from the frame's spellings (the pinyin's prefix index lists the ids of
    every entry beginning daolu, a third of the catalog, from their rows on PostgreSQL). The
    item names are the frame's (Frame.name_ranks): the statement listing every name equal to
    or beginning with the words grew with the catalog (docs/search-speed.md, "Growth")."""
    if not terms:
        return np.zeros(len(ids), dtype=np.int64)
    whole = "".join(term.text for term in terms)
    exact = {whole, normalise(query).strip()}
    if len(terms) == 1:
        exact.update(terms[0].words)
    rank = frame.name_ranks(ids, sorted(exact))
    if terms[0].is_latin and len(terms) == 1:
        begins = _positions(ids, frame.spelt(Spelling(whole, Spelling.BEGINS, None)))
        rank[begins] = np.minimum(rank[begins], 1)
        rank[_positions(ids, frame.spelt(Spelling(whole, Spelling.IS, Spelling.IS)))] = 0
    return rank


def _named(frame: Frame, ids: np.ndarray, terms: list[Term]) -> np.ndarray:
    """By position in `ids`: whether every term is in the name and situation, or spells the
    item name (a Latin term): rank 2. From the frame's distinct names and spellings, with no
    statement: a word's names were a lookup of the name's index (every name with a short
    word: a quarter of the catalog, more with it) or a probe of the first names' rows, and
    grew with the catalog (docs/search-speed.md, "Growth")."""
    named = np.ones(len(ids), dtype=bool)
    for term in terms:
        has = frame.named(ids, _matching_words(term))
        if term.is_latin:
            has[_positions(ids, frame.spelt(spells(term.text)))] = True
        named &= has
    return named


def _cursor_place(frame: Frame, code: str) -> int:
    """Where in code order the items after `code` begin."""
    after = db.session.scalar(
        sa.select(HandlingItem.id).where(HandlingItem.code > code)
        .order_by(HandlingItem.code).limit(1)
    )  # fmt: skip
    return frame.size if after is None or after >= frame.size else int(frame.order_of[after])


def _first(ids: np.ndarray, keys: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The `count` ids of the smallest keys, in order of key."""
    if len(keys) > count:
        chosen = np.argpartition(keys, count - 1)[:count]
        ids, keys = ids[chosen], keys[chosen]
    order = np.argsort(keys)
    return ids[order], keys[order]


def _ranked_page(
    frame: Frame, query: str, terms: list[Term], filters: Filters,
    after: tuple[int, str] | None, limit: int, parts: PartSearch | None = None,
) -> tuple[list[tuple[int, int]], int, dict[str, dict[str, int]]]:  # fmt: skip
    """(id, rank) of the page's hits and one more, the total and the facets."""
    matched = (
        frame.published_among(_all_terms(frame, terms, name_only=False, parts=parts))
        if terms
        else (frame.published_ids())
    )
    groups = frame.group_of[matched]
    total, facets = frame.counts(groups, filters)
    ids = matched[frame.allowed(filters)[groups]]  # sorted, as the matches are
    rank = _name_ranks(frame, ids, query, terms, parts)
    place = frame.order_of[ids].astype(np.int64)
    # one sort key: the rank, then the place in code order
    span = frame.size + 1
    threshold = after[0] * span + _cursor_place(frame, after[1]) if after else 0
    if terms:
        rank[(rank == 3) & _named(frame, ids, terms)] = 2
    keys = rank * span + place
    keep = keys >= threshold
    # the page is most often filled by the better ranks: only their keys are partitioned
    for better in range(3):
        chosen = keep & (rank <= better)
        if np.count_nonzero(chosen) > limit:
            keep = chosen
            break
    page = _first(ids[keep], keys[keep], limit + 1)
    return [(int(i), int(key // span)) for i, key in zip(*page, strict=True)], total, facets
