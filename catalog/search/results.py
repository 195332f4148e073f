"""What a search is asked and returns: its filters, the hits as a result list shows them,
the page's rows read in one statement, and the opaque cursor of the next page."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import sqlalchemy as sa
from markupsafe import Markup

from catalog.enums import CaseType, ItemType
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem
from catalog.revision import CURRENT_STAMP
from catalog.search.terms import SearchError, Term
from catalog.search.text import highlight


@dataclass(frozen=True)
class Filters:
    """Facet filters of a search; the names are the query-string keys."""

    type: ItemType | None = None
    unit: str | None = None
    no_visit: bool = False
    instant: bool = False
    no_fee: bool = False
    one_visit: bool = False

    FLAGS = ("no_visit", "instant", "no_fee", "one_visit")

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        item_type = args.get("type") or None
        if item_type is not None:
            try:
                item_type = ItemType(item_type)
            except ValueError:
                raise SearchError(f"事项类型“{item_type}”无效。") from None
        unit = (args.get("unit") or "").strip() or None
        if unit is not None and len(unit) > 100:
            raise SearchError("承办机构名称过长。")
        flags = {}
        for name in cls.FLAGS:
            value = (args.get(name) or "").lower()
            if value not in ("", "0", "1", "true", "false"):
                raise SearchError(f"筛选条件 {name} 只能是 1 或 0。")
            flags[name] = value in ("1", "true")
        return cls(type=item_type, unit=unit, **flags)

    def as_args(self) -> dict[str, str]:
        args = {name: "1" for name in self.FLAGS if getattr(self, name)}
        if self.type is not None:
            args["type"] = self.type.value
        if self.unit is not None:
            args["unit"] = self.unit
        return args


@dataclass(frozen=True, slots=True)
class ListedItem:
    """An item as a result list shows it."""

    code: str
    name: str
    item_type: ItemType
    handling_unit: str | None  # None: not provided (catalog.elements), as below


@dataclass(frozen=True, slots=True)
class ListedHandling:
    """A handling item as a result list shows it."""

    code: str
    situation: str | None
    case_type: CaseType
    statutory_days: int | None
    promised_days: int
    visits: int
    charges_fee: bool | None  # None: not provided, which is not 不收费 (False)
    online_depth: int | None


@dataclass(frozen=True, slots=True)
class Hit:
    handling_item: ListedHandling
    item: ListedItem
    rank: int


@dataclass
class SearchResult:
    terms: list[Term]
    filters: Filters
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]
    next_cursor: str | None
    highlight_words: tuple[str, ...] = field(default=())

    def highlight(self, text: str) -> Markup:
        return highlight(text, self.highlight_words)


def encode_cursor(rank: int, code: str) -> str:
    raw = json.dumps([rank, code], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# What encode_cursor makes: a rank (0-3) and a handling item code of at most 50 characters;
# anything longer was not made here (and a deeply nested JSON array would exhaust the parser).
MAX_CURSOR_LENGTH = 200
MAX_CURSOR_RANK = 100


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The (rank, code) of a cursor encode_cursor made; SearchError for anything else."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        rank, code = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if type(rank) is not int or not 0 <= rank <= MAX_CURSOR_RANK:
            raise ValueError
        # a code the database can hold and compare: no lone surrogate, no control character
        if not isinstance(code, str) or len(code) > 50 or not code.isprintable():
            raise ValueError
        code.encode("utf-8")
        return rank, code
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        raise SearchError("分页参数无效，请从第一页重新开始。") from None


# The page's hits with their items: one statement for the page, not one a hit, of the columns
# a result list shows (ORM objects of the handling items and their items cost 5 ms a page, more
# than the rest of a repeated search); built once, as building it (and its key in SQLAlchemy's
# compiled cache) cost more than a cached search. The catalog's current stamp comes with each
# row: the search checks the revision it assumed against it (search.query). On PostgreSQL the
# rows come from two indexes that include these columns (migration 0042; a column added here
# belongs there too, as tests/test_search_engine.py holds).
_HANDLING = HandlingItem.__table__.c
_ITEM = ApprovalItem.__table__.c
_LISTED_HANDLING = [getattr(_HANDLING, f.name) for f in fields(ListedHandling)]
_LISTED_ITEM = [getattr(_ITEM, f.name) for f in fields(ListedItem)]
_PAGE_HITS = (
    sa.select(CURRENT_STAMP.scalar_subquery(), _HANDLING.id, *_LISTED_HANDLING, *_LISTED_ITEM)
    .join_from(HandlingItem.__table__, ApprovalItem.__table__, _HANDLING.item_id == _ITEM.id)
    .where(_HANDLING.id.in_(sa.bindparam("ids", expanding=True)))
)


def _listed(
    ids: list[int], *, read_stamp: bool = False
) -> tuple[str | None, dict[int, tuple[ListedHandling, ListedItem]]]:
    """The catalog's current stamp (None: not read, or never changed) and the page's handling
    items and their items, by handling item id. A page with no rows costs the stamp alone
    when `read_stamp`, else no statement."""
    # On the session's connection, not through the session: its ORM handling of a statement
    # cost a worker 0.1 ms a search, and there is nothing to flush (search.query reads the
    # revision, which flushes, before a search of a session with changes of its own).
    connection = db.session.connection()
    rows = connection.execute(_PAGE_HITS, {"ids": ids}).all() if ids else []
    split = 2 + len(_LISTED_HANDLING)
    listed = {row[1]: (ListedHandling(*row[2:split]), ListedItem(*row[split:])) for row in rows}
    if rows:
        return rows[0][0], listed
    return (connection.execute(CURRENT_STAMP).scalar() if read_stamp else None), listed
