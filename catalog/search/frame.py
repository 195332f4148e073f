"""The published catalog as arrays, for ranking and counting the matches of a search.

A search asks the indexes only for the ids of the entries its words match (search.query); which
of them are published, their facet group and their place in code order come from these arrays,
indexed by handling item id. They are loaded once a revision of the catalog (catalog.revision)
and shared by the requests of a process: at 300,000 handling items they take about 3 MB and
load in about a second, so the first search after a change pays that second, once a process.
Ranking and counting 170,000 matches is then a few array operations, not a join a match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from catalog.enums import CaseType, ItemType, Status
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem
from catalog.revision import Cache

# Everything a facet or a filter looks at; the groups of equal values are a few thousand at
# most at province scale (1,215 at 300,000 handling items).
GROUP_COLUMNS = (
    ApprovalItem.item_type,
    ApprovalItem.handling_unit,
    HandlingItem.visits == 0,
    HandlingItem.case_type == CaseType.instant,
    HandlingItem.charges_fee.is_(False),
    HandlingItem.visits <= 1,
)
FLAGS = ("no_visit", "instant", "no_fee", "one_visit")


def id_list(column: sa.ColumnElement[int]) -> sa.ColumnElement[str]:
    """An aggregate of integer ids as one comma-separated text: a list of 170,000 ids crosses
    from the database in one value and is parsed by numpy in a few milliseconds, where as
    170,000 rows it took 150 ms."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.string_agg(sa.cast(column, sa.Text), sa.literal(","))
    return sa.func.group_concat(column)


def parse_ids(text: str | None) -> np.ndarray:
    return np.fromstring(text or "", dtype=np.int64, sep=",")


def read_ids(statement: sa.Select | sa.CompoundSelect) -> np.ndarray:
    """The ids a one-column statement selects."""
    if isinstance(statement, sa.Select):
        aggregate = statement.with_only_columns(id_list(statement.selected_columns[0]))
    else:
        aggregate = sa.select(id_list(statement.subquery().c[0]))
    return parse_ids(db.session.scalar(aggregate))


def _codes(values: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """The distinct values, and each value's index among them."""
    names = tuple(sorted(set(values)))
    index = {name: position for position, name in enumerate(names)}
    return names, np.array([index[value] for value in values], dtype=np.int32)


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
    # by handling item id: its place among all handling items in code order
    order_of: np.ndarray

    @property
    def size(self) -> int:
        return len(self.group_of)

    @property
    def group_count(self) -> int:
        return len(self.group_type)

    def mask(self, ids: np.ndarray) -> np.ndarray:
        """The ids as a mask over handling item ids (an id of an item added since the frame was
        loaded is left out: the next revision's frame has it)."""
        mask = np.zeros(self.size, dtype=bool)
        mask[ids[ids < self.size]] = True
        return mask

    @property
    def published(self) -> np.ndarray:
        return self.group_of < self.group_count

    def allowed(self, filters, *, without: str | None = None) -> np.ndarray:
        """By group: whether its items pass the filters (a search.query.Filters) but `without`;
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

    def passing(self, filters) -> np.ndarray:
        """The mask of published handling items that pass the filters."""
        return self.allowed(filters)[self.group_of]

    def counts(self, matches: np.ndarray, filters) -> tuple[int, dict[str, dict[str, int]]]:
        """The matches' total under `filters`, and the facets: a type's or a unit's count under
        every filter but its own; a flag's count with the flag set."""
        by_group = np.bincount(self.group_of[matches], minlength=self.group_count + 1)
        by_group = by_group[: self.group_count]
        allowed = self.allowed(filters)[:-1]
        facets: dict[str, dict[str, int]] = {}
        for name, names, of_group in (("type", self.types, self.group_type),
                                      ("unit", self.units, self.group_unit)):  # fmt: skip
            counted = by_group * self.allowed(filters, without=name)[:-1]
            totals = np.bincount(of_group, weights=counted, minlength=len(names))
            found = {names[i]: int(totals[i]) for i in np.flatnonzero(totals)}
            facets[name] = dict(sorted(found.items(), key=lambda entry: (-entry[1], entry[0])))
        facets["flags"] = {
            flag: int(by_group[allowed & self.group_flags[flag]].sum()) for flag in FLAGS
        }
        return int(by_group[allowed].sum()), facets


def _position(names: tuple[str, ...], name: str) -> int:
    """The index of a name, or -1 (no group has it)."""
    try:
        return names.index(name)
    except ValueError:
        return -1


def load_frame() -> Frame:
    """Two statements: every handling item's place in code order, then the published ones by
    facet group."""
    # the place is paired with the id in the same aggregate row (the order in which an
    # aggregate reads its rows is not defined; each row's pair is)
    place = sa.func.row_number().over(order_by=HandlingItem.code) - 1
    ranked = sa.select(HandlingItem.id, place.label("place")).subquery()
    ids, places = db.session.execute(sa.select(id_list(ranked.c.id), id_list(ranked.c.place))).one()
    ids, places = parse_ids(ids), parse_ids(places)
    size = int(ids.max()) + 1 if len(ids) else 0
    order_of = np.zeros(size, dtype=np.int32)
    order_of[ids] = places
    published = (
        sa.select(*GROUP_COLUMNS, id_list(HandlingItem.id))
        .join(ApprovalItem, HandlingItem.item_id == ApprovalItem.id)
        .where(ApprovalItem.status == Status.published, HandlingItem.status == Status.published)
        .group_by(*GROUP_COLUMNS)
    )
    rows = db.session.execute(published).all()
    types, group_type = _codes([ItemType(row[0]).value for row in rows])
    units, group_unit = _codes([row[1] for row in rows])
    group_flags = {
        flag: np.array([bool(row[2 + i]) for row in rows], dtype=bool)
        for i, flag in enumerate(FLAGS)
    }
    group_of = np.full(size, len(rows), dtype=np.int32)
    for index, row in enumerate(rows):
        members = parse_ids(row[-1])
        group_of[members[members < size]] = index  # an item added between the statements waits
    return Frame(types, units, group_type, group_unit, group_flags, group_of, order_of)


# One frame a database and revision; two, so a process can finish the searches it began on the
# previous revision.
frames = Cache(2)
