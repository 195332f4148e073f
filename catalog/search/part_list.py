"""The entries' distinct parts held in the process, one list a revision of the catalog: a
word is matched over them in Python, then its parts' postings are gathered from the search
frame (catalog.search.postings).

The parts (catalog.search.parts) are few and short: 3,289 at 300,000 handling items, 45,000
characters in all. On PostgreSQL, matching a Chinese word over them in the database was a
sequential scan of the table a lookup, twice a search (anywhere, then in the names); here the
match is a loop over the texts (0.1-0.2 ms), and a word's handling items need no statement.
On both databases the name parts also answer, without a statement, whether a word (Latin
letters too) is in a name and whether any name begins with the query's words
(docs/search-speed.md, "Per request")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sqlalchemy as sa

from catalog.extensions import db
from catalog.revision import Cache
from catalog.search.frame import Joined, containing
from catalog.search.parts import PART
from catalog.search.postings import Postings


@dataclass(frozen=True)
class PartList:
    """Every part: its id, its normalised text, whether it is an entry's name part."""

    ids: tuple[int, ...]
    texts: tuple[str, ...]
    in_name: tuple[bool, ...]
    names: tuple[str, ...] = field(default=())  # the name parts' texts, sorted

    def matching(self, word: str, *, name_only: bool) -> list[int]:
        """The ids of the parts containing the word (a name part: `name_only`), as
        `text LIKE '%word%'` finds them on PostgreSQL (a literal word; LIKE is case-sensitive
        there, as `in` is; the texts and the words are normalised, lower case)."""
        names = self.in_name
        return [self.ids[index] for index in self.matching_indexes(word)
                if names[index] or not name_only]  # fmt: skip

    def matching_indexes(self, word: str) -> list[int]:
        """The indexes of the parts containing the word, name parts or not."""
        return containing(self.texts, self._joined, word).tolist()

    @cached_property
    def _joined(self) -> Joined:
        return Joined.of(self.texts)


class PartSearch:
    """One search's lookups through a revision's parts and the frame's postings of them
    (catalog.search.postings). A word is looked up anywhere first (every term), then, when the
    page needs them, in the names: its parts' lists are gathered once, and its name parts'
    kept for the second question."""

    def __init__(self, parts: PartList, postings: Postings):
        self.parts = parts
        self.postings = postings
        self._found: dict[tuple[str, bool], np.ndarray] = {}

    def ids_of(self, word: str, *, name_only: bool) -> np.ndarray:
        """The handling items with a part (a name part: `name_only`) containing the word:
        unsorted, an id once a part."""
        if (word, name_only) not in self._found:
            lists = {False: [], True: []}
            for index in self.parts.matching_indexes(word):
                found = self.postings.of(self.parts.ids[index])
                lists[False].append(found)
                if self.parts.in_name[index]:
                    lists[True].append(found)
            for scope in (True,) if name_only else (False, True):
                found = lists[scope]
                self._found[word, scope] = (
                    np.concatenate(found).astype(np.int64) if found
                    else np.zeros(0, dtype=np.int64)
                )  # fmt: skip
        return self._found[word, name_only]


def _dialect() -> str:
    return db.session.get_bind().dialect.name


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
