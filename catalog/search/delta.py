"""The search frame of a new revision from the previous one and what changed since.

A change of one item used to make every worker load the whole frame again (0.35-0.6 s at
300,000 handling items, paid by the first search after it). search_change lists what changed
(catalog.search.changes); here the handling items it names are read again (one statement for
their rows, one for their neighbours in code order) and written into copies of the previous
frame's arrays: a few milliseconds. An array the change leaves as it was (the common bits, when
no searched text changed) is not copied: the new frame shares it. A test compares the result
with a frame loaded whole after every kind of change, on both databases.
"""

from __future__ import annotations

import dataclasses
import functools
import threading

import numpy as np
import sqlalchemy as sa

from catalog.enums import ItemType, Status
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem, SearchChange, SearchEntry
from catalog.search.common import BITS_LENGTH
from catalog.search.frame import FLAGS, Frame, flag_bits, frames, id_list, load_frame, parse_ids
from catalog.search.parts import POSTING

# Rows of search_change read again below the frame's last: a transaction that wrote its rows
# before another but committed after it is still seen, as long as fewer than this many rows
# were written in between.
OVERLAP = 64
# More handling items changed than this: the frame is loaded whole.
MOST = 100

_CHANGE = SearchChange.__table__.c
_lock = threading.Lock()


def _rows_since(mark: int | None) -> list[tuple[int, int | None, int | None, str]]:
    """The rows of search_change from OVERLAP rows before `mark` on (None: before the last
    one), in order."""
    since = sa.select(sa.func.max(_CHANGE.id)).scalar_subquery() if mark is None else mark
    return [tuple(row) for row in db.session.execute(
        sa.select(_CHANGE.id, _CHANGE.handling_item_id, _CHANGE.item_id, _CHANGE.token)
        .where(_CHANGE.id > since - OVERLAP).order_by(_CHANGE.id)
    )]  # fmt: skip


def _seen(frame: Frame, rows: list[tuple]) -> Frame:
    """The frame marked with the rows applied: the last one, and the ids near it."""
    mark = rows[-1] if rows else (0, None, None, "")
    near = frozenset(row[0] for row in rows if row[0] > mark[0] - OVERLAP)
    return dataclasses.replace(frame, change_mark=mark, change_seen=near)


def frame_of(revision: tuple[str, str], *, keep: bool = True) -> Frame:
    """The frame of this revision: the previous one brought up to date, or one loaded whole.
    `keep` False (a transaction's own, uncommitted revision): not kept as the base of the next."""
    database = revision[0]
    with _lock:
        previous = frames.latest.get(database)
    frame = _updated(previous) if previous is not None else None
    if frame is None:
        rows = _rows_since(None)  # first: a change written during the load is applied to the next
        frame = _seen(load_frame(), rows)
    if keep:
        with _lock:
            frames.latest[database] = frame
    return frame


def _updated(frame: Frame) -> Frame | None:
    """The frame with the rows written since its mark applied; None when it must be loaded
    whole (everything changed, or too much)."""
    last = frame.change_mark
    rows = _rows_since(last[0])
    # the frame's last row must still be there as it was: else the rows were deleted since
    # (too far behind: search.changes.KEPT) or the database was emptied or replaced
    if last[0] and last not in rows:
        return None
    new = [row for row in rows if row[0] not in frame.change_seen]
    if not new:
        return frame
    if any(h is None and i is None for _id, h, i, _token in new):
        return None
    handling = {h for _id, h, _i, _token in new if h is not None}
    items = {i for _id, _h, i, _token in new if i is not None}
    if items:
        handling.update(db.session.scalars(
            sa.select(HandlingItem.id).where(HandlingItem.item_id.in_(sorted(items)))
        ))  # fmt: skip
    if len(handling) > MOST:
        return None
    updated = _apply(frame, sorted(handling))
    return None if updated is None else _seen(updated, rows)


@functools.cache
def _rows(dialect: str) -> sa.Select:
    """The changed handling items' rows, with their entries and their parts' ids (one value,
    from ix_search_posting_handling_item), in code order."""
    parts = (
        sa.select(id_list(POSTING.c.part_id, dialect=dialect))
        .where(POSTING.c.handling_item_id == HandlingItem.id)
        .scalar_subquery()
    )
    return (
        sa.select(HandlingItem.id, HandlingItem.code, HandlingItem.status, HandlingItem.visits,
                  HandlingItem.case_type, HandlingItem.charges_fee, ApprovalItem.status,
                  ApprovalItem.handling_unit, ApprovalItem.item_type, SearchEntry.common,
                  SearchEntry.pinyin, SearchEntry.initials, SearchEntry.name,
                  SearchEntry.item_name, parts)
        .join(ApprovalItem, ApprovalItem.id == HandlingItem.item_id)
        .outerjoin(SearchEntry, SearchEntry.handling_item_id == HandlingItem.id)
        .where(HandlingItem.id.in_(sa.bindparam("ids", expanding=True)))
        .order_by(HandlingItem.code)
    )  # fmt: skip


def _before(codes: list[str], changed: list[int]) -> dict[str, int | None]:
    """For each code, the handling item just before it in code order among those not changed:
    one statement for them all (a statement each made the first search after publishing 30
    items cost 62 statements)."""
    kind = HandlingItem.code.type
    wanted = sa.union_all(*(sa.select(sa.literal(code, kind).label("code")) for code in codes))
    wanted = wanted.subquery("wanted")  # (SQLite cannot name the columns of VALUES)
    neighbour = (
        sa.select(HandlingItem.id)
        .where(HandlingItem.code < wanted.c.code, HandlingItem.id.not_in(changed))
        .order_by(HandlingItem.code.desc()).limit(1)
        .scalar_subquery()
    )  # fmt: skip
    return dict(db.session.execute(sa.select(wanted.c.code, neighbour)).tuples().all())


def _grown(array: np.ndarray, size: int, fill) -> np.ndarray:
    if len(array) >= size:
        return array.copy()
    grown = np.full((size, *array.shape[1:]), fill, dtype=array.dtype)
    grown[: len(array)] = array
    return grown


def _apply(frame: Frame, changed: list[int]) -> Frame | None:
    dialect = db.session.get_bind().dialect.name
    rows = db.session.execute(_rows(dialect), {"ids": changed}).all()  # in code order
    size = max([frame.size, *(row[0] + 1 for row in rows)])
    ids = np.array(changed, dtype=np.int64)
    order_of = _grown(frame.order_of, size, -1)
    # code order: the changed items leave their places, the others close up ...
    known = ids[ids < frame.size]
    left = np.sort(frame.order_of[known][frame.order_of[known] >= 0])
    order_of[known] = -1
    kept = order_of >= 0
    order_of[kept] -= np.searchsorted(left, order_of[kept]).astype(order_of.dtype)
    # ... and those still there take theirs, after the neighbour before them
    before = []
    neighbours = _before([row.code for row in rows], changed) if rows else {}
    for row in rows:
        neighbour = neighbours[row.code]
        if neighbour is not None and (neighbour >= frame.size or order_of[neighbour] < 0):
            return None  # a handling item the frame does not know yet: load it whole
        before.append(0 if neighbour is None else int(order_of[neighbour]) + 1)
    places = np.array(before, dtype=np.int64)
    order_of[kept] += np.searchsorted(places, order_of[kept], side="right").astype(order_of.dtype)
    found = np.array([row[0] for row in rows], dtype=np.int64)
    order_of[found] = places + np.arange(len(places))

    order_of = _shared(order_of, frame.order_of)

    group_of = _grown(frame.group_of, size, frame.group_count)
    group_of[group_of == frame.group_count] = -1  # not published: -1 until the groups are known
    group_of[ids] = -1  # placed below, when published
    # the changed handling items' common bits and spellings: none (a handling item deleted, or
    # without an entry) unless a row says otherwise
    position = {handling_id: index for index, handling_id in enumerate(changed)}
    bits_of = np.zeros((len(changed), BITS_LENGTH), dtype=np.uint8)
    spelling_at = np.full(len(changed), -1, dtype=frame.spelling_of.dtype)
    groups = _Groups(frame)
    spellings = list(frame.spellings)
    spelling_index = {spelling: index for index, spelling in enumerate(spellings)}
    name_at = np.full(len(changed), -1, dtype=frame.name_of.dtype)
    names = list(frame.names)
    name_index = {name: index for index, name in enumerate(names)}
    item_name_at = np.full(len(changed), -1, dtype=frame.item_name_of.dtype)
    item_names = list(frame.item_names)
    item_name_index = {name: index for index, name in enumerate(item_names)}
    postings: list[tuple[int, int]] = []  # (part id, handling item id)
    for row in rows:
        (handling_id, _code, status, visits, case_type, fee, item_status, unit, kind,
         bits, pinyin, initials, name, item_name, part_ids) = row  # fmt: skip
        postings += [(part_id, handling_id) for part_id in parse_ids(part_ids).tolist()]
        if Status(status) == Status.published and Status(item_status) == Status.published:
            group_of[handling_id] = groups.index(unit, kind, flag_bits(visits, case_type, fee))
        if bits is not None:
            bits_of[position[handling_id]] = np.frombuffer(bits, dtype=np.uint8)[:BITS_LENGTH]
            spelling = (pinyin, initials)
            if spelling not in spelling_index:
                spelling_index[spelling] = len(spellings)
                spellings.append(spelling)
            spelling_at[position[handling_id]] = spelling_index[spelling]
            if name:  # (an empty name has no name part: in no name, as loaded whole)
                if name not in name_index:
                    name_index[name] = len(names)
                    names.append(name)
                name_at[position[handling_id]] = name_index[name]
            if item_name not in item_name_index:
                item_name_index[item_name] = len(item_names)
                item_names.append(item_name)
            item_name_at[position[handling_id]] = item_name_index[item_name]
    return groups.frame(
        group_of=group_of, order_of=order_of,
        common=_written_columns(frame.common, size, ids, bits_of.T), spellings=tuple(spellings),
        spelling_of=_written(frame.spelling_of, size, -1, ids, spelling_at),
        names=tuple(names), name_of=_written(frame.name_of, size, -1, ids, name_at),
        item_names=tuple(item_names),
        item_name_of=_written(frame.item_name_of, size, -1, ids, item_name_at),
        postings=frame.postings.replaced(ids, postings),
    )  # fmt: skip


def _shared(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """`old` when `new` is equal to it: the new frame shares the previous one's array (frames
    are never written after they are made) and the copy is freed."""
    return old if new.shape == old.shape and np.array_equal(new, old) else new


def _written(array: np.ndarray, size: int, fill, ids: np.ndarray, values: np.ndarray):
    """`array`, grown to `size` with `fill`, with `values` at `ids`: the array itself when they
    are there already (an edit that leaves the searched text alone), else a copy. The common
    bits take 9.6 MB at 300,000 handling items: copied at every edit, they were a second copy
    in memory while the previous frame was still held (docs/worker-memory.md)."""
    if len(array) >= size and np.array_equal(array[ids], values):
        return array
    written = _grown(array, size, fill)
    written[ids] = values
    return written


def _written_columns(array: np.ndarray, size: int, ids: np.ndarray, values: np.ndarray):
    """_written for an array by column (the common bits: each row by handling item id), grown
    with zeros."""
    if array.shape[1] >= size and np.array_equal(array[:, ids], values):
        return array
    written = np.zeros((array.shape[0], max(size, array.shape[1])), dtype=array.dtype)
    written[:, : array.shape[1]] = array
    written[:, ids] = values
    return written


class _Groups:
    """The previous frame's facet groups, and the ones a change adds (a new unit, type or
    combination of flags), appended: a group no longer used counts nothing."""

    def __init__(self, frame: Frame):
        self.previous = frame
        self.types, self.units = list(frame.types), list(frame.units)
        self.group_type = frame.group_type.tolist()
        # no unit: -1 here (the frame has it past the named units, which may grow)
        self.group_unit = [-1 if unit >= len(self.units) else unit
                           for unit in frame.group_unit.tolist()]  # fmt: skip
        bits = np.zeros(frame.group_count, dtype=np.int64)
        for bit, flag in enumerate(FLAGS):
            bits |= frame.group_flags[flag].astype(np.int64) << bit
        self.group_bits = bits.tolist()
        self.known = {
            (unit, kind, bits): group
            for group, (unit, kind, bits) in enumerate(
                zip(self.group_unit, self.group_type, self.group_bits, strict=True)
            )
        }

    def index(self, unit: str | None, kind: str, bits: int) -> int:
        kind = ItemType(kind).value
        if kind not in self.types:
            self.types.append(kind)
        if unit is not None and unit not in self.units:
            self.units.append(unit)
        key = (-1 if unit is None else self.units.index(unit),
               self.types.index(kind), bits)  # fmt: skip
        if key not in self.known:
            self.known[key] = len(self.group_type)
            self.group_unit.append(key[0])
            self.group_type.append(key[1])
            self.group_bits.append(bits)
        return self.known[key]

    def frame(self, *, group_of: np.ndarray, **arrays) -> Frame:
        count = len(self.group_type)
        group_of[group_of < 0] = count
        group_of = _shared(group_of, self.previous.group_of)
        units = np.array(self.group_unit, dtype=np.int32)
        units[units < 0] = len(self.units)  # no unit: past the named ones
        bits = np.array(self.group_bits, dtype=np.int64)
        return Frame(
            tuple(self.types), tuple(self.units),
            group_type=np.array(self.group_type, dtype=np.int32), group_unit=units,
            group_flags={flag: (bits >> bit & 1).astype(bool) for bit, flag in enumerate(FLAGS)},
            group_of=group_of, **arrays,
        )  # fmt: skip
