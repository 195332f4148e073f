"""The published catalog as arrays, for ranking and counting the matches of a search.

A search asks the indexes only for the ids of the entries its words match (search.query); which
of them are published, their facet group and their place in code order come from these arrays,
indexed by handling item id. They are loaded once a revision of the catalog (catalog.revision)
and shared by the requests of a process: at 300,000 handling items they take about 13 MB and
load in 0.3-0.6 s (SQLite) or 0.4-0.5 s (PostgreSQL, read from covering indexes: migration
0011), which the first search after a change pays, once a process.
Ranking and counting 170,000 matches is then a few array operations, not a join a match.
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_left
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from catalog.enums import ItemType, Status
from catalog.extensions import db
from catalog.measures import SEARCH_FLAGS, flag_facts
from catalog.models import ApprovalItem, HandlingItem, SearchEntry, SearchPart, SearchPosting
from catalog.revision import is_uncommitted
from catalog.search.common import BITS_LENGTH, POSITION
from catalog.search.postings import Postings, load_postings
from catalog.search.terms import Spelling

FLAGS = tuple(SEARCH_FLAGS)  # ("no_visit", "instant", "no_fee", "one_visit")


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def id_list(column: sa.ColumnElement[int], *, dialect: str | None = None) -> sa.ColumnElement[str]:
    """An aggregate of integer ids as one comma-separated text: a list of 170,000 ids crosses
    from the database in one value and is parsed by numpy in a few milliseconds, where as
    170,000 rows it took 150 ms. For the session's database, or the one named."""
    if (dialect == "postgresql") if dialect else _postgresql():
        return sa.func.string_agg(sa.cast(column, sa.Text), sa.literal(","))
    return sa.func.group_concat(column)


def parse_ids(text: str | None) -> np.ndarray:
    return np.fromstring(text or "", dtype=np.int64, sep=",")


@dataclass(frozen=True)
class Frame:
    """The published handling items by facet group: items alike in everything the facets
    count (type, unit and the four flags)."""

    types: tuple[str, ...]  # the item types present, and the units
    units: tuple[str, ...]
    group_type: np.ndarray  # by group: the index of its type in `types`, of its unit in `units`
    group_unit: np.ndarray
    group_flags: dict[str, np.ndarray]  # by flag, by group: whether its items have the flag
    # by handling item id: the index of its group, or the number of groups when the item is
    # not published (or not there)
    group_of: np.ndarray
    # by handling item id: its place among all handling items in code order (-1: none)
    order_of: np.ndarray
    # the entries' common bits (search.common): BITS_LENGTH rows of bytes, each by handling
    # item id, so that a bit's column of the entries is one contiguous row (read by having())
    common: np.ndarray
    # the entries' distinct spellings of the item name, (pinyin, initials): 740 at 300,000
    # handling items; and by handling item id the index of its entry's, or -1
    spellings: tuple[tuple[str, str], ...] = ()
    spelling_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    # the entries' distinct names (search_entry.name: the item name and the situation,
    # normalised, which is also the entry's name part), and by handling item id the index of
    # its entry's, or -1: whether a word is in a match's name is then a loop over the few
    # names and a gather, where it was a statement listing every name with the word
    names: tuple[str, ...] = ()
    name_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    # the entries' distinct item names (search_entry.item_name, normalised: 740 at 300,000
    # handling items), and by handling item id the index of its entry's, or -1: the ranking's
    # exact and prefix names, where a statement listed every name beginning with the word
    item_names: tuple[str, ...] = ()
    item_name_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    # every part's postings (catalog.search.postings): a word's handling items
    postings: Postings = field(default_factory=lambda: Postings.empty())
    # the last search_change row applied, as read (catalog.search.delta)
    change_mark: tuple = (0, None, None, "")
    change_seen: frozenset[int] = frozenset()  # and the ids of the rows before it, applied

    def __post_init__(self) -> None:
        # read-only: a frame is shared by the searches of a process, and the next revision's
        # frame shares the arrays an edit leaves alone (catalog.search.delta)
        for value in (*vars(self).values(), *self.group_flags.values()):
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def size(self) -> int:
        return len(self.group_of)

    @property
    def group_count(self) -> int:
        return len(self.group_type)

    def union(self, lists: list[np.ndarray]) -> np.ndarray:
        """The ids in any of the lists, sorted, once each (an id of an item added since the
        frame was loaded is left out: the next revision's frame has it). An index's list is
        most often the only one, and sorted already."""
        lists = [ids for ids in lists if len(ids)] or lists[:1]
        if len(lists) == 1 and np.all(lists[0][1:] > lists[0][:-1]):
            return lists[0][: np.searchsorted(lists[0], self.size)]
        mask = np.zeros(self.size, dtype=bool)
        for ids in lists:
            mask[ids[ids < self.size]] = True
        return np.flatnonzero(mask)

    def intersection(self, ids: np.ndarray, others: np.ndarray) -> np.ndarray:
        """The ids (sorted, known to the frame) that are among the others, sorted."""
        mask = np.zeros(self.size, dtype=bool)
        mask[ids] = True
        return others[mask[others]]

    def having(self, tokens: list[str]) -> np.ndarray:
        """The ids whose entries have one of these common characters or pairs, sorted: what the
        index of characters and pairs would list (an engine test compares them)."""
        found = np.zeros(self.size, dtype=bool)
        for token in tokens:
            index = POSITION[token]
            found |= (self.common[index >> 3] & (1 << (index & 7))) != 0
        return np.flatnonzero(found)

    @cached_property
    def _by_spelling(self) -> tuple[np.ndarray, np.ndarray]:
        """The handling item ids grouped by their entry's spelling (ids in order within each),
        and where each spelling's group begins (one more: the end): computed once a frame."""
        ids = np.argsort(self.spelling_of, kind="stable").astype(np.int32)
        counts = np.bincount(self.spelling_of + 1, minlength=len(self.spellings) + 1)
        starts = np.concatenate([[0], np.cumsum(counts)])[1:]  # group -1 (no entry) left out
        return ids, starts

    def spelt(self, spells: Callable[[str, str], bool]) -> np.ndarray:
        """The ids whose entry's spelling (pinyin, initials) `spells` accepts, sorted: the
        spelling is matched over the few distinct spellings, then their groups of ids taken, so
        a Latin term costs the same whatever the catalog's size (a LIKE over every entry's
        pinyin and initials took 90-140 ms on SQLite and 0.5-0.9 s on PostgreSQL at 300,000;
        a gather over every entry 0.5-1 ms, where a few groups take microseconds). A
        search.terms.Spelling is matched over the spellings joined (in C), any other
        predicate spelling by spelling."""
        matched = self._spelling_indexes(spells)
        if not matched:
            return np.zeros(0, dtype=np.int64)
        ids, starts = self._by_spelling
        if len(matched) == 1:
            return ids[starts[matched[0]] : starts[matched[0] + 1]].astype(np.int64)
        chosen = np.array(matched)
        if (starts[chosen + 1] - starts[chosen]).sum() > len(ids) // 8:
            # many: whether each id's spelling is matched, where a sort of theirs took longer
            return np.flatnonzero(self._spelling_mask(matched)[self.spelling_of])
        found = np.concatenate([ids[starts[index] : starts[index + 1]] for index in matched])
        return np.sort(found).astype(np.int64)

    def _spelling_mask(self, matched: list[int]) -> np.ndarray:
        """By spelling, one more for none (-1): whether it is among the matched."""
        found = np.zeros(len(self.spellings) + 1, dtype=bool)
        found[matched] = True
        return found

    def _spelling_indexes(self, spells: Callable[[str, str], bool]) -> list[int]:
        """The indexes of the distinct spellings `spells` accepts, in order."""
        if isinstance(spells, Spelling):
            return sorted(
                {*self._spelling_texts[0].matching(spells.pinyin, spells.text),
                 *self._spelling_texts[1].matching(spells.initials, spells.text)}
            )  # fmt: skip
        return [index for index, (pinyin, initials) in enumerate(self.spellings)
                if spells(pinyin, initials)]  # fmt: skip

    @cached_property
    def _labels(self) -> Labels:
        """The entries' labels (computed once a frame: 2-3 ms at 300,000 handling items, the
        rare catalog whose names do not tell their item names apart about 30 ms)."""
        return Labels.build(self.name_of, self.item_name_of, self.spelling_of, len(self.names))

    def labels(self, ids: np.ndarray) -> np.ndarray:
        """By position in `ids`: the label of each one's entry, an index into the arrays the
        methods below return by label (the last of each: no entry)."""
        return self._labels.of[ids]

    def spelt_labels(self, spells: Callable[[str, str], bool]) -> np.ndarray:
        """By label: whether `spells` accepts its entry's spelling."""
        return self._spelling_mask(self._spelling_indexes(spells))[self._labels.spelling]

    def named_labels(self, words: list[str]) -> np.ndarray:
        """By label: whether its entry's name contains one of the words (as
        `name LIKE '%word%'` finds it, the texts and words normalised), matched over the
        distinct names, where the name's index listed every name with the word (a word of 1-2
        characters: a quarter of the catalog)."""
        found = np.zeros(len(self.names) + 1, dtype=bool)  # the last: no entry (-1)
        for word in words:
            found[containing(self.names, self._names_joined, word)] = True
        return found[self._labels.name]

    def name_rank_labels(self, words: list[str]) -> np.ndarray:
        """By label: 0 when its entry's item name is one of the words, 1 when it begins with
        one of them, else 3 (as `item_name IN (...)` and `LIKE 'word%'` find them), over the
        distinct item names."""
        rank = np.full(len(self.item_names) + 1, 3, dtype=np.int64)  # the last: no entry
        for word in words:
            for index in self._item_name_texts.matching(Spelling.BEGINS, word):
                rank[index] = 0 if self.item_names[index] in words else min(rank[index], 1)
        return rank[self._labels.item_name]

    @cached_property
    def _spelling_texts(self) -> tuple[Texts, Texts]:
        """The distinct spellings' pinyins and initials, each ready to be matched."""
        return (Texts(tuple(p for p, _i in self.spellings)),
                Texts(tuple(i for _p, i in self.spellings)))  # fmt: skip

    @cached_property
    def _item_name_texts(self) -> Texts:
        return Texts(self.item_names)

    @cached_property
    def _names_joined(self) -> Joined:
        return Joined.of(self.names)

    def allowed(self, filters, *, without: str | None = None) -> np.ndarray:
        """By group: whether its items pass the filters (a search.results.Filters) but `without`;
        one more entry, False, for the items not published."""
        allowed = np.ones(self.group_count + 1, dtype=bool)
        allowed[-1] = False
        if without != "type" and filters.type is not None:
            kind = ItemType(filters.type).value
            allowed[:-1] &= self.group_type == _position(self.types, kind)
        if without != "unit" and filters.unit is not None:
            allowed[:-1] &= self.group_unit == _position(self.units, filters.unit)
        for flag in FLAGS:
            if flag != without and getattr(filters, flag):
                allowed[:-1] &= self.group_flags[flag]
        return allowed

    def counts(self, by_group: np.ndarray, filters) -> tuple[int, dict[str, dict[str, int]]]:
        """The total under `filters` of published matches, counted by group (np.bincount of
        their groups, the group past the last for a match not published, which counts
        nowhere), and the facets: a type's or a unit's count under every filter but its own; a
        flag's count with the flag set."""
        by_group = by_group[: self.group_count]
        allowed = self.allowed(filters)[:-1]
        facets: dict[str, dict[str, int]] = {}
        for name, names, of_group in (("type", self.types, self.group_type),
                                      ("unit", self.units, self.group_unit)):  # fmt: skip
            counted = by_group * self.allowed(filters, without=name)[:-1]
            totals = np.bincount(of_group, weights=counted, minlength=len(names))
            # (an index past the names: the items without a unit, named by no facet)
            found = {names[i]: int(totals[i]) for i in np.flatnonzero(totals) if i < len(names)}
            facets[name] = dict(sorted(found.items(), key=lambda entry: (-entry[1], entry[0])))
        facets["flags"] = {
            flag: int(by_group[allowed & self.group_flags[flag]].sum()) for flag in FLAGS
        }
        return int(by_group[allowed].sum()), facets


@dataclass(frozen=True)
class Labels:
    """The entries alike in everything the ranking reads of them (their name, item name and
    spelling), each kind one label: what a search asks of a match's name is then asked once a
    label and gathered once a match, where it was a gather a question (the name, the item
    name, the spellings: 1.5-3 ms for the 140,000-280,000 matches of a common word at 300,000
    handling items). An entry's name (its item name and situation) tells its item name and
    spelling in nearly every catalog, and the names' indexes are then the labels."""

    of: np.ndarray  # by handling item id: its entry's label, -1 when it has none
    # by label, one more for -1: the index of its name, item name and spelling (-1: none)
    name: np.ndarray
    item_name: np.ndarray
    spelling: np.ndarray

    @classmethod
    def build(cls, name_of: np.ndarray, item_name_of: np.ndarray, spelling_of: np.ndarray,
           names: int) -> Labels:  # fmt: skip
        by_name = []
        for of in (item_name_of, spelling_of):
            table = np.full(names + 1, -1, dtype=np.int64)
            table[name_of] = of  # (-1, no entry: the last)
            by_name.append(table)
        item_name_by, spelling_by = by_name
        if np.array_equal(item_name_by[name_of], item_name_of) and np.array_equal(
            spelling_by[name_of], spelling_of
        ):
            return cls(name_of, np.append(np.arange(names), -1), *by_name)
        # a name two items split differently ("A B": item A, situation B, and item "A B")
        stacked = np.stack([name_of, item_name_of, spelling_of]).astype(np.int64)
        distinct, label_of = np.unique(stacked, axis=1, return_inverse=True)
        last = np.full((3, 1), -1, dtype=np.int64)
        name, item_name, spelling = np.concatenate([distinct, last], axis=1)
        return cls(label_of.reshape(-1).astype(np.int32), name, item_name, spelling)


@dataclass(frozen=True)
class Joined:
    """Texts as one array of code points, a line break after each, and where each begins (one
    more: the end), for containing()."""

    codes: np.ndarray  # uint32, one a character
    starts: np.ndarray  # int64

    @classmethod
    def of(cls, texts: tuple[str, ...]) -> Joined:
        together = "".join(text + "\n" for text in texts).encode("utf-32-le", "surrogatepass")
        lengths = np.fromiter((len(text) + 1 for text in texts), dtype=np.int64, count=len(texts))
        starts = np.concatenate([[0], np.cumsum(lengths)])
        return cls(np.frombuffer(together, dtype=np.uint32), starts)


class Texts:
    """Texts matched by index: those containing a word (Joined, containing()), beginning with
    it or equal to it (sorted, bisected): the spellings, and the item names' prefixes
    (Frame.name_ranks)."""

    def __init__(self, texts: tuple[str, ...]):
        self.texts = texts
        order = sorted(range(len(texts)), key=texts.__getitem__)
        self.ordered = [texts[index] for index in order]
        self.order = order

    @cached_property
    def joined(self) -> Joined:  # built by the first word looked for in them
        return Joined.of(self.texts)

    def matching(self, how: str | None, word: str) -> list[int]:
        """The indexes of the texts the word is in (Spelling.IN), that begin with it (BEGINS),
        or that are it (IS); none for None."""
        if how is None:
            return []
        if how == Spelling.IN:
            return containing(self.texts, self.joined, word).tolist()
        found = []
        place = bisect_left(self.ordered, word)
        while place < len(self.ordered) and self.ordered[place].startswith(word):
            if how == Spelling.IS and self.ordered[place] != word:
                break  # sorted: the texts equal to the word come first
            found.append(self.order[place])
            place += 1
        return found


def containing(texts: tuple[str, ...], joined_texts: Joined, word: str) -> np.ndarray:
    """The indexes of the texts containing the word, in order: the places of its first
    character in the texts joined, narrowed by each next character, then the texts holding
    them (array operations: a loop of str.find over the 827 of 2,085 names holding a common
    character took 1 ms at 300,000 handling items). A word with a line break, which no
    normalised text holds, or an empty one, is looked for text by text."""
    if not word or "\n" in word:
        return np.array([index for index, text in enumerate(texts) if word in text], dtype=np.int64)
    codes, starts = joined_texts.codes, joined_texts.starts
    chars = np.frombuffer(word.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    places = np.flatnonzero(codes[: max(0, len(codes) - len(chars) + 1)] == chars[0])
    for offset in range(1, len(chars)):
        places = places[codes[places + offset] == chars[offset]]
    return np.unique(np.searchsorted(starts, places, side="right") - 1)


def flag_bits(visits: int, case_type: object, fee: bool | None) -> int:
    """The four flags (FLAGS, as bits in that order) of the handling items alike in visits, case
    type and fee, as load_frame and the frame's update in place (search.delta) both group them:
    the tests are catalog.measures' (no_fee: the explicit 不收费 only)."""
    facts = flag_facts(visits, case_type, fee)
    return sum(1 << bit for bit, flag in enumerate(FLAGS) if SEARCH_FLAGS[flag].test(facts))


def _position(names: tuple[str, ...], name: str) -> int:
    """The index of a name, or -1 (no group has it)."""
    try:
        return names.index(name)
    except ValueError:
        return -1


def _in_code_order() -> np.ndarray:
    """Every handling item id, in code order: the aggregate of a subquery's rows, in the order
    the subquery gives them, read through an index of codes that holds the ids (SQLite's
    unique index, PostgreSQL's ix_handling_item_code_id): no sort. SQLite before 3.44 cannot
    order an aggregate; PostgreSQL's ordered aggregate sorts its input whatever the index
    (0.25 s at 300,000, this 0.05 s), and a window numbering the rows took 0.3-0.6 s on SQLite.
    The engine's tests compare the order with the codes'."""
    codes = sa.select(HandlingItem.id).order_by(HandlingItem.code).subquery()
    return parse_ids(db.session.scalar(sa.select(id_list(codes.c.id))))


COMMON_BATCH = 20_000  # entries a statement


def _common_batch() -> sa.Select:
    """The ids and the common bits (as hexadecimal text) of the entries of one range of ids, in
    two aggregates over the same rows in the same order."""
    entry = SearchEntry.__table__.c
    in_range = sa.and_(entry.handling_item_id >= sa.bindparam("low"),
                       entry.handling_item_id < sa.bindparam("high"))  # fmt: skip
    if _postgresql():
        by_id = entry.handling_item_id
        return sa.select(
            sa.func.string_agg(sa.cast(by_id, sa.Text), aggregate_order_by(",", by_id)),
            sa.func.string_agg(sa.func.encode(entry.common, "hex"), aggregate_order_by("", by_id)),
        ).where(in_range)
    rows = sa.select(entry.handling_item_id, entry.common).where(in_range)
    rows = rows.order_by(entry.handling_item_id).subquery()  # the index's order: no sort
    return sa.select(
        id_list(rows.c.handling_item_id), sa.func.group_concat(sa.func.hex(rows.c.common), "")
    )


def _common_bits(size: int) -> np.ndarray:
    """Every entry's common bits, a row of bytes by handling item id for each byte of the bits
    (300,000 entries: 9.6 MB), read from their covering index (migration 0010) a range of ids at
    a time, as text: as rows, each a Python object, they took 2 s. Stored an entry a row, one
    common character's bit was read across the whole 9.6 MB (0.7 ms at 300,000); a byte's row
    of all entries is 300 KB."""
    bits = np.zeros((BITS_LENGTH, size), dtype=np.uint8)
    statement = _common_batch()
    for low in range(0, size, COMMON_BATCH):
        # (an entry added since the frame's first statement waits for the next frame)
        bounds = {"low": low, "high": min(low + COMMON_BATCH, size)}
        ids, found = db.session.execute(statement, bounds).one()
        ids = parse_ids(ids)
        found = np.frombuffer(bytes.fromhex(found or ""), dtype=np.uint8)
        bits[:, ids] = found.reshape(len(ids), BITS_LENGTH).T
    return bits


def _spellings(size: int) -> tuple[tuple[tuple[str, str], ...], np.ndarray]:
    """The entries' distinct spellings and, by handling item id, the index of each entry's:
    one statement, grouped over the index of (initials, pinyin, id) alone (migration 0023)."""
    entry = SearchEntry.__table__.c
    rows = db.session.execute(
        sa.select(entry.pinyin, entry.initials, id_list(entry.handling_item_id))
        .group_by(entry.initials, entry.pinyin)
    ).all()  # fmt: skip
    spelling_of = np.full(size, -1, dtype=np.int32)
    for index, (_pinyin, _initials, ids) in enumerate(rows):
        ids = parse_ids(ids)
        spelling_of[ids[ids < size]] = index
    return tuple((pinyin, initials) for pinyin, initials, _ids in rows), spelling_of


def _names(size: int) -> tuple[tuple[str, ...], np.ndarray]:
    """The entries' distinct names and, by handling item id, the index of each entry's: from
    the name parts' postings (an entry's name part is its name, catalog.search.index), read
    from their primary key a part at a time, where grouping the entries by name read every
    entry's row."""
    part, posting = SearchPart.__table__.c, SearchPosting.__table__.c
    # a part's postings a subquery (a range of the primary key each): joined and grouped,
    # PostgreSQL merged all 2 million postings for the 300,000 of the names (1.25 s, 0.3 s so)
    ids = sa.select(id_list(posting.handling_item_id)).where(posting.part_id == part.id)
    rows = db.session.execute(
        sa.select(part.text, ids.scalar_subquery()).where(part.in_name)
    ).all()  # fmt: skip
    name_of = np.full(size, -1, dtype=np.int32)
    for index, (_text, ids) in enumerate(rows):
        ids = parse_ids(ids)
        name_of[ids[ids < size]] = index
    return tuple(text for text, _ids in rows), name_of


def _item_names(size: int) -> tuple[tuple[str, ...], np.ndarray]:
    """The entries' distinct item names and, by handling item id, the index of each entry's:
    one statement over the index of item names (which holds the ids: on PostgreSQL the
    covering ix_search_entry_item_name_prefix of 0026, read alone; on SQLite
    ix_search_entry_item_name, whose rowid is the id)."""
    entry = SearchEntry.__table__.c
    rows = db.session.execute(
        sa.select(entry.item_name, id_list(entry.handling_item_id)).group_by(entry.item_name)
    ).all()
    item_name_of = np.full(size, -1, dtype=np.int32)
    for index, (_name, ids) in enumerate(rows):
        ids = parse_ids(ids)
        item_name_of[ids[ids < size]] = index
    return tuple(name for name, _ids in rows), item_name_of


def load_frame() -> Frame:
    """Four statements, each read from one index without a sort (migrations 0009 and 0010):
    the handling items in code order; the published items by unit and type; the published
    handling items by their flags, with their items; the entries' common bits. At 300,000
    handling items about 0.5 s; grouping by everything at once in SQL (a join and a sort) took
    0.9 s, and reading every item's unit as text held 60 MB while it ran."""
    in_order = _in_code_order()
    size = int(in_order.max()) + 1 if len(in_order) else 0
    order_of = np.full(size, -1, dtype=np.int32)  # -1: no such handling item
    order_of[in_order] = np.arange(len(in_order), dtype=np.int32)
    spellings, spelling_of = _spellings(size)
    names, name_of = _names(size)
    item_names, item_name_of = _item_names(size)

    by_unit = db.session.execute(
        sa.select(ApprovalItem.handling_unit, ApprovalItem.item_type, id_list(ApprovalItem.id))
        .where(ApprovalItem.status == Status.published)
        .group_by(ApprovalItem.handling_unit, ApprovalItem.item_type)
    ).all()  # fmt: skip
    # An item without a handling unit (NULL: not provided, catalog.elements) is left out of
    # the unit facet, whose values are units a visitor can pick (?unit=...): its handling
    # items get the index past the named units, which no unit filter and no facet name, and
    # still count in the total, the type facet and the flags.
    units = tuple(sorted({unit for unit, _kind, _ids in by_unit if unit is not None}))
    types = tuple(sorted({ItemType(kind).value for _unit, kind, _ids in by_unit}))
    unit_index: dict[str | None, int] = {unit: index for index, unit in enumerate(units)}
    unit_index[None] = len(units)
    type_index = {kind: index for index, kind in enumerate(types)}
    members = [(parse_ids(ids), unit_index[unit], type_index[ItemType(kind).value])
               for unit, kind, ids in by_unit]  # fmt: skip
    last_item = max((int(ids.max()) for ids, _u, _t in members if len(ids)), default=-1) + 1
    type_of = np.full(last_item, -1, dtype=np.int32)  # -1: the item is not published
    unit_of = np.zeros(last_item, dtype=np.int32)
    for ids, unit, kind in members:
        type_of[ids], unit_of[ids] = kind, unit

    by_flags = db.session.execute(
        sa.select(HandlingItem.visits, HandlingItem.case_type, HandlingItem.charges_fee,
                  id_list(HandlingItem.id), id_list(HandlingItem.item_id))
        .where(HandlingItem.status == Status.published)
        .group_by(HandlingItem.visits, HandlingItem.case_type, HandlingItem.charges_fee)
    ).all()  # fmt: skip
    parts = []
    for visits, case_type, fee, ids, items in by_flags:
        ids, items = parse_ids(ids), parse_ids(items)
        bits = flag_bits(visits, case_type, fee)
        parts.append((ids, items, np.full(len(ids), bits, dtype=np.int64)))
    ids, items, bits = (np.concatenate([part[i] for part in parts]) if parts
                        else np.zeros(0, dtype=np.int64) for i in range(3))  # fmt: skip
    # an item or handling item added between the statements waits for the next revision
    known = (ids < size) & (items < last_item)
    ids, items, bits = ids[known], items[known], bits[known]
    kind = type_of[items]
    published = kind >= 0  # only the handling items of published items
    ids, items, bits, kind = ids[published], items[published], bits[published], kind[published]
    key = (unit_of[items].astype(np.int64) * max(len(types), 1) + kind) * 16 + bits
    distinct, group = np.unique(key, return_inverse=True)
    group_of = np.full(size, len(distinct), dtype=np.int32)
    group_of[ids] = group
    return Frame(
        types, units,
        group_type=(distinct // 16 % max(len(types), 1)).astype(np.int32),
        group_unit=(distinct // 16 // max(len(types), 1)).astype(np.int32),
        group_flags={flag: (distinct >> bit & 1).astype(bool) for bit, flag in enumerate(FLAGS)},
        group_of=group_of, order_of=order_of, common=_common_bits(size),
        spellings=spellings, spelling_of=spelling_of, names=names, name_of=name_of,
        item_names=item_names, item_name_of=item_name_of, postings=load_postings(size),
    )  # fmt: skip


class Frames:
    """The frames of the revisions being searched, by revision key: the newest of each database
    held (`latest`, the base the next revision's is updated from: catalog.search.delta), an
    older one only while a search begun on it still holds it (a weak reference), so a process
    finishes those searches on their own revision's frame and then frees it. Holding the
    previous revision's frame as well (an LRU of two) put a third frame in memory while the
    next one was built: 13 MB at 300,000 handling items (docs/worker-memory.md). A
    transaction's own, uncommitted revision is not kept. clear() forgets them all."""

    def __init__(self):
        self._by_revision: weakref.WeakValueDictionary[Hashable, Frame] = (
            weakref.WeakValueDictionary()
        )
        self.latest: dict[str, Frame] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], compute: Callable[[], Frame]) -> Frame:
        if is_uncommitted(key[1]):
            return compute()
        with self._lock:
            frame = self._by_revision.get(key)
        if frame is None:
            frame = compute()
            with self._lock:
                self._by_revision[key] = frame
        return frame

    def holds(self, key: tuple[str, str]) -> bool:
        with self._lock:
            return key in self._by_revision

    def clear(self) -> None:
        with self._lock:
            self._by_revision.clear()
            self.latest.clear()


frames = Frames()
