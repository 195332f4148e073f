"""The frame's postings brought up to date after a change (search.postings.Postings.replaced),
against postings built afresh from what they should hold; the database side (the update in
place against a frame loaded whole) is in test_search_frame.py and test_search_parts.py."""

from __future__ import annotations

import random

import numpy as np
import pytest

from catalog.search.postings import Postings


def built(lists: dict[int, list[int]]) -> Postings:
    """Postings holding these parts' handling items, rows in part id order."""
    row_of = np.full(max(lists, default=-1) + 1, -1, dtype=np.int32)
    starts, ids = [0], []
    for row, part_id in enumerate(sorted(lists)):
        row_of[part_id] = row
        ids += lists[part_id]
        starts.append(len(ids))
    return Postings(row_of, np.array(starts, dtype=np.int64), np.array(ids, dtype=np.int32))


def held(postings: Postings) -> dict[int, list[int]]:
    """What they hold: each part with handling items, its ids sorted."""
    found = {
        part_id: sorted(postings.of(part_id).tolist()) for part_id in range(len(postings.row_of))
    }
    return {part_id: ids for part_id, ids in found.items() if ids}


def test_an_edit_that_leaves_the_parts_alone_keeps_the_same_postings():
    postings = built({1: [4, 7], 3: [7, 9]})
    assert postings.replaced(np.array([7]), [(1, 7), (3, 7)]) is postings
    assert postings.replaced(np.array([], dtype=np.int64), []) is postings


@pytest.mark.parametrize("seed", range(20))
def test_changed_handling_items_get_their_new_parts_and_lose_their_old(seed):
    """Random postings, random changes: some handling items lose parts, gain others, parts
    new to the postings (past the last id, and a gap before it) appear, a part loses its last
    handling item, a handling item is deleted (no rows) or is new (never held)."""
    rng = random.Random(seed)
    lists = {
        p: sorted(rng.sample(range(60), rng.randint(0, 12))) for p in rng.sample(range(40), 25)
    }
    lists = {p: ids for p, ids in lists.items() if ids}
    changed = sorted(rng.sample(range(70), rng.randint(1, 8)))  # 60-69: handling items new
    rows = [
        (rng.choice([*range(45), 50, 57]), h) for h in changed for _ in range(rng.randint(0, 4))
    ]
    rows = sorted(set(rows))
    expected = {p: [h for h in ids if h not in changed] for p, ids in lists.items()}
    for part_id, handling_id in rows:
        expected.setdefault(part_id, []).append(handling_id)
    expected = {p: sorted(ids) for p, ids in expected.items() if ids}
    replaced = built(lists).replaced(np.array(changed), rows)
    assert held(replaced) == expected
    assert replaced.starts[-1] == len(replaced.ids) == sum(map(len, expected.values()))
