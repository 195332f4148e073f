"""The ranking's parts that work without a database: the page's choice among many matches
(search.ranking._first: the smallest kept keys, in order, however the sample it narrows them
by falls), and the entries' labels it asks its questions by (search.frame.Labels)."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.search.frame import Labels
from catalog.search.ranking import SAMPLE_STEP, _first


def _plainly(ids: np.ndarray, keys: np.ndarray, keep: np.ndarray, count: int):
    order = np.argsort(keys[keep], kind="stable")[:count]
    return ids[keep][order].tolist(), keys[keep][order].tolist()


def _chosen(ids, keys, keep, count):
    got_ids, got_keys = _first(ids, keys, keep, count)
    return got_ids.tolist(), got_keys.tolist()


@pytest.mark.parametrize("share", [1.0, 0.6, 0.05, 0.001])
@pytest.mark.parametrize("count", [1, 21, 101])
def test_the_smallest_kept_keys_come_in_order(share, count):
    rng = np.random.default_rng(2020)
    size = 200_000
    ids = np.arange(3, size + 3)
    # the ranking's keys: a rank (mostly 2 or 3) times a span, plus a place in code order
    keys = rng.choice([0, 1, 2, 3], size, p=[0.0001, 0.0009, 0.3, 0.699]) * (size + 1)
    keys += rng.permutation(size)
    keep = rng.random(size) < share
    assert _chosen(ids, keys, keep, count) == _plainly(ids, keys, keep, count)
    every = np.ones(size, dtype=bool)  # None: every key kept, with no mask to read
    assert _chosen(ids, keys, None, count) == _plainly(ids, keys, every, count)


def test_a_sample_holding_the_smallest_keys_still_gives_all_of_them():
    """Every SAMPLE_STEP-th key is among the smallest, so the bound read from the sample has
    fewer than the page's keys under it: all the kept keys are chosen from."""
    size = 100_000
    ids = np.arange(size)
    keys = np.arange(size, 2 * size)
    keys[::SAMPLE_STEP] = np.arange(len(keys[::SAMPLE_STEP]))
    keep = np.ones(size, dtype=bool)
    assert _chosen(ids, keys, keep, 21) == _plainly(ids, keys, keep, 21)
    assert _chosen(ids, keys, keep, 21)[1][:3] == [0, 1, 2]
    assert _chosen(ids, keys, None, 21) == _plainly(ids, keys, keep, 21)


def test_fewer_kept_than_the_page_gives_them_all_and_none_gives_none():
    ids, keys = np.arange(10), np.arange(10)[::-1].copy()
    keep = np.zeros(10, dtype=bool)
    assert _chosen(ids, keys, keep, 21) == ([], [])
    keep[[2, 5]] = True
    assert _chosen(ids, keys, keep, 21) == ([5, 2], [4, 7])
    assert _chosen(ids, keys, None, 3) == ([9, 8, 7], [0, 1, 2])
    assert _chosen(ids[:0], keys[:0], None, 21) == ([], [])


@pytest.mark.parametrize("split", [False, True])
def test_an_entrys_label_gives_back_its_name_item_name_and_spelling(split):
    """Frame labels (frame.Labels): by each id's label, its entry's name, item name and
    spelling, as the frame holds them by id; whether the names tell the item names apart (the
    labels are the names') or a name is split two ways ("A B": item A with situation B, and
    item "A B"), and for an id without an entry (-1: the last of each table)."""
    name_of = np.array([0, 1, 1, 2, -1, 0, 2])
    item_name_of = np.array([0, 1, 1, 1, -1, 0, 1])
    spelling_of = np.array([3, 4, 4, 4, -1, 3, 4])
    if split:
        item_name_of[2], spelling_of[2] = 2, 5  # a second reading of name 1
    labels = Labels.build(name_of, item_name_of, spelling_of, names=3)
    assert labels.name[labels.of].tolist() == name_of.tolist()
    assert labels.item_name[labels.of].tolist() == item_name_of.tolist()
    assert labels.spelling[labels.of].tolist() == spelling_of.tolist()
    assert len(set(labels.of.tolist())) == (5 if split else 4)
