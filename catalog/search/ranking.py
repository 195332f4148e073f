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
    ids: np.ndarray, keys: np.ndarray, keep: np.ndarray | None, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """The `count` ids of the smallest kept keys (None: every key), in order of key. Many kept
    keys are first narrowed to those at or below a bound read from a sample (every
    SAMPLE_STEP-th key, the kept ones): its 4th smallest or the like lies above some hundreds
    of keys, and a partition of those few replaces one of all (a partition of the 272,667 keys
    of 办 took 3.5-6 ms at 300,000 handling items, this 0.3 ms). The bound is only a guess:
    when fewer than `count` keys lie under it, all the kept keys are partitioned, as before."""
    chosen = None
    if (len(keys) if keep is None else np.count_nonzero(keep)) > count * SAMPLE_STEP:
        sample = keys[::SAMPLE_STEP]
        sample = sample if keep is None else sample[keep[::SAMPLE_STEP]]
        place = min(len(sample) - 1, 2 * (-(-count // SAMPLE_STEP)) + 2)
        bound = np.partition(sample, place)[place]
        under = np.flatnonzero(keys <= bound if keep is None else keep & (keys <= bound))
        if len(under) >= count:
            chosen = under
    if chosen is None:
        chosen = np.arange(len(keys)) if keep is None else np.flatnonzero(keep)
    if len(chosen) > count:
        chosen = chosen[np.argpartition(keys[chosen], count - 1)[:count]]
    chosen = chosen[np.argsort(keys[chosen], kind="stable")]
    return ids[chosen], keys[chosen]


RANKS = 4  # _name_ranks: 0 exact name, 1 name prefix, 2 every term in the name, 3 elsewhere


def _ranked_page(
    frame: Frame, query: str, terms: list[Term], filters: Filters,
    after: tuple[int, str] | None, limit: int, parts: PartSearch | None = None,
) -> tuple[list[tuple[int, int]], int, dict[str, dict[str, int]]]:  # fmt: skip
    """(id, rank) of the page's hits and one more, the total and the facets. A common
    character's 270,000 matches at 300,000 handling items go through each pass below: the
    passes a page does not need are left out (docs/search-speed.md, "A common character")."""
    found = _all_terms(frame, terms, name_only=False, parts=parts) if terms else None
    groups = frame.group_of[found] if terms else frame.group_of
    by_group = np.bincount(groups, minlength=frame.group_count + 1)
    total, facets = frame.counts(by_group, filters)
    # the published matches the filters allow, sorted as the matches are: with no filter and
    # every match published (most searches), all of them, with no pass to pick them
    allowed = frame.allowed(filters)
    if by_group[~allowed].any():
        ids = np.flatnonzero(allowed[groups])
        ids = found[ids] if terms else ids
    else:
        ids = found if terms else np.arange(frame.size)
    # one sort key: the rank, then the place in code order (32 bits wide while they fit: each
    # pass over the matches then moves half the memory)
    span = frame.size + 1
    wide = np.int32 if RANKS * span < 2**31 else np.int64
    if terms:
        offsets = (_name_ranks(frame, query, terms) * span).astype(wide)  # by label
        keys = offsets[frame.labels(ids)] + frame.order_of[ids]
    else:
        keys = frame.order_of[ids].astype(wide, copy=False)
    keep = keys >= after[0] * span + _cursor_place(frame, after[1]) if after else None
    # the page is most often filled by the better ranks: only their keys are partitioned
    kept = keys if keep is None else keys[keep]
    for rank in range(RANKS - 1):
        bound = (rank + 1) * span  # the keys of this rank or a better one lie under it
        count = np.count_nonzero(kept < bound)
        if count > limit:
            if count < len(kept):
                keep = keys < bound if keep is None else keep & (keys < bound)
            break
    page = _first(ids, keys, keep, limit + 1)
    return [(int(i), int(key // span)) for i, key in zip(*page, strict=True)], total, facets
