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


@dataclass(frozen=True)
class Group:
    """Published handling items alike in everything the facets count."""

    type: str
    unit: str
    no_visit: bool
    instant: bool
    no_fee: bool
    one_visit: bool

    def passes(self, filters, *, without: str | None = None) -> bool:
        """Whether the group's items pass `filters` (a search.query.Filters), but `without`."""
        kind = filters.type
        if without != "type" and kind is not None and self.type != ItemType(kind).value:
            return False
        if without != "unit" and filters.unit is not None and self.unit != filters.unit:
            return False
        wanted = [flag for flag in FLAGS if flag != without and getattr(filters, flag)]
        return all(getattr(self, flag) for flag in wanted)


def id_list(column: sa.ColumnElement[int]) -> sa.ColumnElement[str]:
    """An aggregate of integer ids as one comma-separated text: a list of 170,000 ids crosses
    from the database in one value and is parsed by numpy in a few milliseconds, where as
    170,000 rows it took 150 ms."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.string_agg(sa.cast(column, sa.Text), sa.literal(","))
    return sa.func.group_concat(column)


def parse_ids(text: str | None) -> np.ndarray:
    return np.fromstring(text or "", dtype=np.int64, sep=",")


def read_ids(statement: sa.Select) -> np.ndarray:
    """The ids a one-column statement selects."""
    column = statement.subquery().c[0]
    return parse_ids(db.session.scalar(sa.select(id_list(column))))


@dataclass(frozen=True)
class Frame:
    groups: tuple[Group, ...]
    # by handling item id: the index of its group, or len(groups) when it is not published
    group_of: np.ndarray
    # by handling item id: its place among all handling items in code order
    order_of: np.ndarray

    @property
    def size(self) -> int:
        return len(self.group_of)

    def mask(self, ids: np.ndarray) -> np.ndarray:
        """The ids as a mask over handling item ids (an id of an item added since the frame was
        loaded is left out: the next revision's frame has it)."""
        mask = np.zeros(self.size, dtype=bool)
        mask[ids[ids < self.size]] = True
        return mask

    def allowed(self, filters, *, without: str | None = None) -> np.ndarray:
        """By group index: whether its items pass the filters; the last entry, not published."""
        allowed = [group.passes(filters, without=without) for group in self.groups]
        return np.array([*allowed, False], dtype=bool)

    def passing(self, filters, *, without: str | None = None) -> np.ndarray:
        """The mask of published handling items that pass the filters."""
        return self.allowed(filters, without=without)[self.group_of]


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
    groups, members = [], []
    for kind, unit, no_visit, instant, no_fee, one_visit, ids in db.session.execute(published):
        flags = bool(no_visit), bool(instant), bool(no_fee), bool(one_visit)
        groups.append(Group(ItemType(kind).value, unit, *flags))
        members.append(parse_ids(ids))
    group_of = np.full(size, len(groups), dtype=np.int32)
    for index, ids in enumerate(members):
        group_of[ids[ids < size]] = index  # an item added between the two statements waits
    return Frame(tuple(groups), group_of, order_of)


# One frame a database and revision; two, so a process can finish the searches it began on the
# previous revision.
frames = Cache(2)
