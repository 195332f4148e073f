"""The entries' distinct parts held in the process, one list a revision of the catalog: a
word is matched over them in Python, then only its parts' postings are read.

The parts (catalog.search.parts) are few and short: 3,289 at 300,000 handling items, 45,000
characters in all. On PostgreSQL, matching a Chinese word over them in the database was a
sequential scan of the table a lookup, twice a search (anywhere, then in the names); here the
match is a loop over the texts (0.1-0.2 ms), a word in no part costs no statement, and one
statement reads its parts' postings a part a row, which answers both questions. On both
databases the name parts also answer, without a statement most of the time, whether a word
(Latin letters too) is in a name and whether any name begins with the query's words
(docs/search-speed.md, "Per request")."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from catalog.extensions import db
from catalog.revision import Cache
from catalog.search.frame import containing, id_list, joined, parse_ids
from catalog.search.parts import PART, POSTING


@dataclass(frozen=True)
class PartList:
    """Every part: its id, its normalised text, whether it is an entry's name part."""

    ids: tuple[int, ...]
    texts: tuple[str, ...]
    in_name: tuple[bool, ...]
    names: tuple[str, ...] = field(default=())  # the name parts' texts, sorted
    # the postings read so far at this revision, by part id (PostingsHeld): a list is for
    # one revision, so they are never out of date
    held: PostingsHeld = field(default_factory=lambda: PostingsHeld(), compare=False, repr=False)

    def matching(self, word: str, *, name_only: bool) -> list[int]:
        """The ids of the parts containing the word (a name part: `name_only`), as
        `text LIKE '%word%'` finds them on PostgreSQL (a literal word; LIKE is case-sensitive
        there, as `in` is; the texts and the words are normalised, lower case)."""
        names = self.in_name
        return [self.ids[index] for index in containing(self.texts, self._joined, word)
                if names[index] or not name_only]  # fmt: skip

    @cached_property
    def _joined(self) -> tuple[str, list[int]]:
        return joined(self.texts)


# Postings held a revision, in handling item ids (int32: 4 bytes each): all of them are 2
# million at 300,000 handling items; the parts of the most recent words are kept under this.
HELD_IDS = 1_500_000


class PostingsHeld:
    """The postings of the parts read so far, by part id, most recently used last, up to
    HELD_IDS ids. A word's parts are shared by many other words (运输 and 道路运 match most of
    the same parts), so distinct searches soon read only the few parts not read before: a
    word's lookup is then a gather of arrays in memory, where the statement reading its
    postings grew with its matches (docs/search-speed.md, "Growth")."""

    def __init__(self):
        self._lists: OrderedDict[int, np.ndarray] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()

    def get(self, part_ids: list[int]) -> tuple[dict[int, np.ndarray], list[int]]:
        """The lists held of these parts, and the parts not held."""
        found, missing = {}, []
        with self._lock:
            for part_id in part_ids:
                ids = self._lists.get(part_id)
                if ids is None:
                    missing.append(part_id)
                else:
                    self._lists.move_to_end(part_id)
                    found[part_id] = ids
        return found, missing

    def put(self, lists: dict[int, np.ndarray]) -> None:
        with self._lock:
            for part_id, ids in lists.items():
                if part_id in self._lists or len(ids) > HELD_IDS:
                    continue
                self._lists[part_id] = ids
                self._count += len(ids)
            while self._count > HELD_IDS:
                _part, dropped = self._lists.popitem(last=False)
                self._count -= len(dropped)


class PartSearch:
    """One search's lookups through a revision's parts. A word is looked up anywhere first
    (every term), then, when the page needs them, in the names: its parts' postings are read
    once, a part a row, and its name parts' lists kept for the second question (which was a
    second statement over the same postings)."""

    def __init__(self, parts: PartList):
        self.parts = parts
        self._found: dict[tuple[str, bool], np.ndarray] = {}

    def ids_of(self, word: str, *, name_only: bool) -> np.ndarray:
        """The handling items with a part (a name part: `name_only`) containing the word:
        unsorted, an id once a part."""
        if (word, name_only) not in self._found:
            matched = self.parts.matching(word, name_only=name_only)
            lists = {False: [], True: []}
            if matched:
                names = dict(zip(self.parts.ids, self.parts.in_name, strict=True))
                found, missing = self.parts.held.get(matched)
                if missing:
                    rows = db.session.execute(_postings(_dialect()), {"parts": missing})
                    read = {part_id: parse_ids(ids).astype(np.int32) for part_id, ids in rows}
                    self.parts.held.put(read)
                    found.update(read)
                for part_id, parsed in found.items():
                    lists[False].append(parsed)
                    if names[part_id]:
                        lists[True].append(parsed)
            for scope in (True,) if name_only else (False, True):
                found = lists[scope]
                self._found[word, scope] = (
                    np.concatenate(found).astype(np.int64) if found
                    else np.zeros(0, dtype=np.int64)
                )  # fmt: skip
        return self._found[word, name_only]


def _dialect() -> str:
    return db.session.get_bind().dialect.name


_POSTINGS: dict[str, sa.Select] = {}


def _postings(dialect: str) -> sa.Select:
    """The handling item ids of the parts given, a row (part id, id list) a part: one
    statement whatever their number (an IN list of each length would be a new statement for
    the drivers' and SQLAlchemy's caches)."""
    if dialect not in _POSTINGS:
        if dialect == "postgresql":
            wanted = POSTING.c.part_id == sa.any_(sa.bindparam("parts", type_=ARRAY(sa.Integer)))
        else:
            values = sa.func.json_each(sa.bindparam("parts", type_=sa.JSON)).table_valued("value")
            wanted = POSTING.c.part_id.in_(sa.select(values.c.value))
        column = POSTING.c.handling_item_id
        _POSTINGS[dialect] = (
            sa.select(POSTING.c.part_id, id_list(column, dialect=dialect))
            .where(wanted)
            .group_by(POSTING.c.part_id)
        )
    return _POSTINGS[dialect]


def load_part_list() -> PartList:
    """Every part, as one JSON value (paid by the first search after every change): at 300,000
    handling items 3 ms at best on SQLite, where 3,300 rows through SQLAlchemy took 16 ms;
    about the same either way on PostgreSQL (4-6 ms at best)."""
    if _dialect() == "postgresql":
        rows = sa.func.json_agg(sa.func.json_build_array(PART.c.id, PART.c.text, PART.c.in_name))
        rows = sa.cast(rows, sa.Text)
    else:
        rows = sa.func.json_group_array(sa.func.json_array(PART.c.id, PART.c.text, PART.c.in_name))
    found = json.loads(db.session.scalar(sa.select(rows)) or "[]")
    return PartList(
        ids=tuple(row[0] for row in found),
        texts=tuple(row[1] for row in found),
        in_name=tuple(bool(row[2]) for row in found),
        names=tuple(sorted(row[1] for row in found if row[2])),
    )


# One list a database and revision, as the frames (a revision's stamp is random, so a list is
# never taken for another database's that had the same URL).
part_lists = Cache(2)


def part_list(revision: tuple[str, str]) -> PartList:
    return part_lists.get(revision, load_part_list)
