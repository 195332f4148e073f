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


def _name_ranks(frame: Frame, query: str, terms: list[Term]) -> np.ndarray:
    """By label (Frame.labels): 0 exact name, 1 name prefix, 2 every term in the name and
    situation (or spelling the item name: a Latin term), else 3 (found in other fields). A
    single Latin term is also an exact name when it is the name's whole pinyin or initials,
    and a prefix when it begins its pinyin. All from the frame's distinct names, item names
    and spellings, with no statement: the statements listing every name equal to, beginning
    with or holding the words grew with the catalog (docs/search-speed.md, "Growth")."""
    whole = "".join(term.text for term in terms)
    exact = {whole, normalise(query).strip()}
    if len(terms) == 1:
        exact.update(terms[0].words)
    rank = frame.name_rank_labels(sorted(exact))
    if terms[0].is_latin and len(terms) == 1:
        rank[frame.spelt_labels(Spelling(whole, Spelling.BEGINS, None)) & (rank > 1)] = 1
        rank[frame.spelt_labels(Spelling(whole, Spelling.IS, Spelling.IS))] = 0
    named = np.ones(len(rank), dtype=bool)
    for term in terms:
        has = frame.named_labels(_matching_words(term))
        if term.is_latin:
            has |= frame.spelt_labels(spells(term.text))
        named &= has
    rank[(rank == 3) & named] = 2
    return rank


def _cursor_place(frame: Frame, code: str) -> int:
    """Where in code order the items after `code` begin."""
    after = db.session.scalar(
        sa.select(HandlingItem.id).where(HandlingItem.code > code)
        .order_by(HandlingItem.code).limit(1)
    )  # fmt: skip
    return frame.size if after is None or after >= frame.size else int(frame.order_of[after])


SAMPLE_STEP = 64  # _first's sample: every 64th key


def _first(
    ids: np.ndarray, keys: np.ndarray, keep: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """The `count` ids of the smallest kept keys, in order of key. Many kept keys are first
    narrowed to those at or below a bound read from a sample (every SAMPLE_STEP-th key, the
    kept ones): its 4th smallest or the like lies above some hundreds of keys, and a
    partition of those few replaces one of all (a partition of the 272,667 keys of 办 took
    3.5-6 ms at 300,000 handling items, this 0.3 ms). The bound is only a guess: when fewer
    than `count` keys lie under it, all the kept keys are partitioned, as before."""
    chosen = None
    if np.count_nonzero(keep) > count * SAMPLE_STEP:
        sample = keys[::SAMPLE_STEP][keep[::SAMPLE_STEP]]
        place = min(len(sample) - 1, 2 * (-(-count // SAMPLE_STEP)) + 2)
        bound = np.partition(sample, place)[place]
        under = np.flatnonzero(keep & (keys <= bound))
        if len(under) >= count:
            chosen = under
    if chosen is None:
        chosen = np.flatnonzero(keep)
    if len(chosen) > count:
        chosen = chosen[np.argpartition(keys[chosen], count - 1)[:count]]
    chosen = chosen[np.argsort(keys[chosen], kind="stable")]
    return ids[chosen], keys[chosen]


def _ranked_page(
    frame: Frame, query: str, terms: list[Term], filters: Filters,
    after: tuple[int, str] | None, limit: int, parts: PartSearch | None = None,
) -> tuple[list[tuple[int, int]], int, dict[str, dict[str, int]]]:  # fmt: skip
    """(id, rank) of the page's hits and one more, the total and the facets."""
    found = _all_terms(frame, terms, name_only=False, parts=parts) if terms else None
    groups = frame.group_of[found] if terms else frame.group_of
    total, facets = frame.counts(groups, filters)
    # the published matches the filters allow, sorted as the matches are
    ids = np.flatnonzero(frame.allowed(filters)[groups])
    if terms:
        ids = found[ids]
        rank = _name_ranks(frame, query, terms)[frame.labels(ids)]
    else:
        rank = np.zeros(len(ids), dtype=np.int64)
    place = frame.order_of[ids].astype(np.int64)
    # one sort key: the rank, then the place in code order
    span = frame.size + 1
    threshold = after[0] * span + _cursor_place(frame, after[1]) if after else 0
    keys = rank * span + place
    keep = keys >= threshold
    # the page is most often filled by the better ranks: only their keys are partitioned
    for better in range(3):
        chosen = keep & (rank <= better)
        if np.count_nonzero(chosen) > limit:
            keep = chosen
            break
    page = _first(ids, keys, keep, limit + 1)
    return [(int(i), int(key // span)) for i, key in zip(*page, strict=True)], total, facets
