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

PARTS_A_STATEMENT = 512  # the full load reads the parts a range of ids at a time


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
        leaves the searched texts alone), else a copy."""
        if not len(changed):
            return self
        limit = int(max(changed.max(initial=-1), self.ids.max(initial=-1))) + 1
        changed_mask = np.zeros(limit, dtype=bool)
        changed_mask[changed] = True
        positions = np.flatnonzero(changed_mask[self.ids])
        old_rows = np.searchsorted(self.starts, positions, side="right") - 1
        old = sorted(zip(self.ids[positions].tolist(), old_rows.tolist(), strict=True))
        row_of = self.row_of
        part_ids = sorted({part_id for part_id, _handling_id in rows})
        missing = [p for p in part_ids if p >= len(row_of) or row_of[p] < 0]
        if missing:  # parts new to the frame: rows of their own, after the others
            grown = np.full(max(len(row_of), max(missing) + 1), -1, dtype=np.int32)
            grown[: len(row_of)] = row_of
            grown[missing] = np.arange(len(missing)) + (len(self.starts) - 1)
            row_of = grown
        new = sorted((handling_id, int(row_of[part_id])) for part_id, handling_id in rows)
        if new == old:
            return self
        counts = np.diff(self.starts)
        counts = np.concatenate([counts, np.zeros(len(missing), dtype=counts.dtype)])
        np.subtract.at(counts, old_rows, 1)
        kept = np.delete(self.ids, positions)
        starts = np.concatenate([[0], np.cumsum(counts)])
        added_rows = np.array([row for _handling_id, row in new], dtype=np.int64)
        added_ids = np.array([handling_id for handling_id, _row in new], dtype=np.int32)
        order = np.argsort(added_rows, kind="stable")
        added_rows, added_ids = added_rows[order], added_ids[order]
        ids = np.insert(kept, starts[added_rows + 1], added_ids)  # at the end of their rows
        np.add.at(counts, added_rows, 1)
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return Postings(row_of, starts, ids.astype(np.int32, copy=False))


def load_postings() -> Postings:
    """Every part's postings from the postings' primary key (part id, handling item id), a
    range of part ids a statement, each part's ids one value (catalog.search.frame.id_list)."""
    from catalog.search.frame import id_list, parse_ids  # (the frame holds the postings)

    last = db.session.scalar(sa.select(sa.func.max(POSTING.c.part_id))) or 0
    statement = (
        sa.select(POSTING.c.part_id, id_list(POSTING.c.handling_item_id))
        .where(POSTING.c.part_id >= sa.bindparam("low"), POSTING.c.part_id < sa.bindparam("high"))
        .group_by(POSTING.c.part_id)
    )
    row_of = np.full(last + 1, -1, dtype=np.int32)
    lists: list[np.ndarray] = []
    for low in range(0, last + 1, PARTS_A_STATEMENT):
        bounds = {"low": low, "high": low + PARTS_A_STATEMENT}
        for part_id, found in db.session.execute(statement, bounds):
            row_of[part_id] = len(lists)
            lists.append(parse_ids(found).astype(np.int32))
    starts = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum([len(found) for found in lists], out=starts[1:])
    ids = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int32)
    return Postings(row_of, starts, ids)
