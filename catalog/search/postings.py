"""Every part's postings (the handling items whose text has it, catalog.search.parts) held in
the process, in one array: a word's lookup is then a gather of its parts' lists, with no
statement.

They were read from the database a word at a time, and the lists read kept for the revision
(up to 1,500,000 ids). The first search of a word whose parts nobody had read yet paid for
reading their ids: 审, in 87,000 of the 300,000 entries of the bench's catalog, took 22 ms,
eleven times what it took at 30,000, and every change started the lists afresh. Now they
come with the search frame (catalog.search.frame): read whole with it (2 million ids at
300,000 handling items, 8 MB as int32), and brought up to date with it after a change
(catalog.search.delta): the changed handling items' postings taken out and read again, a few
hundred rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from catalog.extensions import db
from catalog.search.parts import POSTING

PARTS_A_STATEMENT = 64  # the full load reads the parts a range of ids at a time
ROOM_PER_ITEM = 16  # the load's room for postings, by handling item (6.5 at 300,000)


@dataclass(frozen=True, eq=False)
class Postings:
    """The handling item ids of every part, a part's ids one after the other (row by row: a
    part's row is `row_of[part id]`, -1 for a part not held; its ids are
    `ids[starts[row]:starts[row + 1]]`, each once, in no particular order)."""

    row_of: np.ndarray  # int32, by part id
    starts: np.ndarray  # int64, by row, one more: the end
    ids: np.ndarray  # int32

    def __post_init__(self) -> None:
        for array in (self.row_of, self.starts, self.ids):
            array.flags.writeable = False  # shared by a revision's searches

    @classmethod
    def empty(cls) -> Postings:
        return cls(np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64),
                   np.zeros(0, dtype=np.int32))  # fmt: skip

    def of(self, part_id: int) -> np.ndarray:
        """The handling item ids of a part (none for a part not held: one added since the
        frame was read, which the next revision's frame holds)."""
        row = int(self.row_of[part_id]) if 0 <= part_id < len(self.row_of) else -1
        if row < 0:
            return self.ids[:0]
        return self.ids[self.starts[row] : self.starts[row + 1]]

    def replaced(self, changed: np.ndarray, rows: list[tuple[int, int]]) -> Postings:
        """These postings with those of the `changed` handling items replaced by `rows`
        (part id, handling item id): themselves when that changes nothing (an edit that
        leaves the searched texts alone), else a copy made in one piece (the old ones are
        still held by the previous frame: 8 MB more at 300,000 until it is freed)."""
        if not len(changed):
            return self
        limit = int(max(changed.max(), self.ids.max(initial=-1))) + 1
        changed_mask = np.zeros(limit, dtype=bool)
        changed_mask[changed] = True
        positions = np.flatnonzero(changed_mask[self.ids])
        old_rows = np.searchsorted(self.starts, positions, side="right") - 1
        old = sorted(zip(self.ids[positions].tolist(), old_rows.tolist(), strict=True))
        row_of = self.row_of
        missing = sorted({p for p, _h in rows if p >= len(row_of) or row_of[p] < 0})
        if missing:  # parts new to the frame: rows of their own, after the others
            grown = np.full(max(len(row_of), missing[-1] + 1), -1, dtype=np.int32)
            grown[: len(row_of)] = row_of
            grown[missing] = np.arange(len(missing)) + (len(self.starts) - 1)
            row_of = grown
        new = sorted((handling_id, int(row_of[part_id])) for part_id, handling_id in rows)
        if new == old:
            return self
        # the rows' new ids go at their ends (a new part's row: at the end of all)
        added: dict[int, list[int]] = {}
        for handling_id, row in new:
            added.setdefault(row, []).append(handling_id)
        ends = {row: int(self.starts[row + 1]) if row < len(self.starts) - 1 else len(self.ids)
                for row in added}  # fmt: skip
        cuts = sorted([(end, 0, row) for row, end in ends.items()]
                      + [(int(place), 1, -1) for place in positions])  # fmt: skip
        pieces, cursor = [], 0
        for place, removed, row in cuts:
            pieces.append(self.ids[cursor:place])
            if removed:
                cursor = place + 1
            else:
                pieces.append(np.array(added[row], dtype=np.int32))
                cursor = place
        pieces.append(self.ids[cursor:])
        counts = np.zeros(len(self.starts) - 1 + len(missing), dtype=np.int64)
        counts[: len(self.starts) - 1] = np.diff(self.starts)
        np.subtract.at(counts, old_rows, 1)
        for row, found in added.items():
            counts[row] += len(found)
        starts = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        return Postings(row_of, starts, np.concatenate(pieces))


def load_postings(size: int = 0) -> Postings:
    """Every part's postings from the postings' primary key (part id, handling item id), a
    range of part ids a statement, each part's ids one value (catalog.search.frame.id_list),
    written into one array as they are read: its room (`size` handling items times
    ROOM_PER_ITEM) is taken from the system only where written, so no list of the parts'
    arrays and no copy of them all is ever held besides (they made the frame's load 30 MB
    larger than the 8 MB kept). Without a size, the room starts small and doubles as needed."""
    from catalog.search.frame import id_list  # (the frame holds the postings)

    last = db.session.scalar(sa.select(sa.func.max(POSTING.c.part_id))) or 0
    statement = (
        sa.select(POSTING.c.part_id, id_list(POSTING.c.handling_item_id))
        .where(POSTING.c.part_id >= sa.bindparam("low"), POSTING.c.part_id < sa.bindparam("high"))
        .group_by(POSTING.c.part_id)
    )
    row_of = np.full(last + 1, -1, dtype=np.int32)
    ends = [0]
    ids = np.empty(max(size, 1) * ROOM_PER_ITEM, dtype=np.int32)
    for low in range(0, last + 1, PARTS_A_STATEMENT):
        bounds = {"low": low, "high": low + PARTS_A_STATEMENT}
        for part_id, found in db.session.execute(statement, bounds):
            parsed = np.fromstring(found or "", dtype=np.int32, sep=",")
            end = ends[-1] + len(parsed)
            if end > len(ids):  # more parts an entry than room for: twice the room
                grown = np.empty(max(end, 2 * len(ids)), dtype=np.int32)
                grown[: ends[-1]] = ids[: ends[-1]]
                ids = grown
            ids[ends[-1] : end] = parsed
            row_of[part_id] = len(ends) - 1
            ends.append(end)
    return Postings(row_of, np.array(ends, dtype=np.int64), ids[: ends[-1]])
