"""The staff decision list's search, count and choice lists at 1,580,000 decisions (issue 24
part 8; docs/decision-search-speed.md, "The staff list").

What the staff search matches did not change (catalog.staff.decisions.list_filters): a part of
the document number or of the party's name, whoever the party is (a natural person too), or a
whole credit code or ID number. The list is ordered by id, newest entered first. Before, each
request counted and searched the whole table with LIKE '%…%' (seconds at 1,000,000). Now:

- The words are looked up through the decisions' grams (migration 0040: the public grams, and
  a natural person's name's with "~" before each), OR the credit-code and ID-number indexes,
  and each row is still checked with the condition: the index only narrows the rows.
- A common word (search.Sample: its share of the sampled rows' names and numbers) reads the
  table newest entered first and stops at the page's end; a rarer one reads its index
  candidates and sorts them. Reading candidates is bounded too: with more than
  CANDIDATE_LIMIT of them (a word of the items' names or violation types, which the staff do
  not search) the page walks the table instead.
- The count stops at STAFF_COUNT_LIMIT (10,000) without words, at STAFF_SEARCH_COUNT_LIMIT
  (1,000) with them ("超过 1,000 条"; the public search stops at 200: staff ask less often
  and count further); a word the sample finds in search.MORE_HITS rows standing for ten
  times the limit is not counted.
- The unit and year choices: the units walked through ix_*_unit_order (listing's way), the
  years from the first and the last decision in the list's order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from catalog.decisions import listing, search
from catalog.decisions.filters import DecisionFilters
from catalog.extensions import db

STAFF_COUNT_LIMIT = 10_000  # the list without words counts up to this
STAFF_SEARCH_COUNT_LIMIT = 1_000  # and with words, up to this
CANDIDATE_LIMIT = 20_000  # a rarer word's index candidates read at most (else: the walk)
WALK_HITS = 8  # sampled rows (of about 4,000) whose name or number has the words: walk


def matching(model: type, q: str) -> sa.ColumnElement[bool]:
    """What the staff search finds, checked on each row: a part of the document number or of
    the party's name, or a whole credit code or ID number."""
    return sa.or_(
        model.document_number.contains(q, autoescape=True),
        model.party_name.contains(q, autoescape=True),
        model.party_credit_code == q.upper(),
        model.party_id_number == q.upper(),
    )


def _lookup(model: type, q: str, dialect: str) -> list[list[str]]:
    """The gram lists a row must hold one of to be a candidate: the words' rarest grams as the
    public search takes them, and the same with "~" (a natural person's name)."""
    lower = search.ascii_lower if dialect == "sqlite" else str.lower
    grams = search.rarest(model, search.Words.of(q, lower), lower)
    return [grams, [search.PERSON_MARK + gram for gram in grams]]


def index_condition(model: type, q: str, tokens: list[str]) -> sa.ColumnElement[bool]:
    """The rows the indexes give as candidates for the words (with the filters' unit and
    late tokens, search.filter_tokens), OR a whole credit code or ID number."""
    dialect = db.session.get_bind().dialect.name
    lists = [grams + tokens for grams in _lookup(model, q, dialect)]
    if dialect == "sqlite":
        fts = f"{model.__tablename__}_grams"
        expression = " OR ".join(
            "(" + " AND ".join(search._phrase(gram) for gram in grams) + ")" for grams in lists
        )
        candidates = sa.select(sa.literal_column(f"rowid & {search.ID_MASK}")).select_from(
            sa.table(fts)).where(sa.literal_column(fts).op("MATCH")(expression))  # fmt: skip
        found = model.id.in_(candidates)
    else:
        grams_type = postgresql.ARRAY(sa.Text)
        column = sa.literal_column(f"{model.__tablename__}.search_grams", grams_type)
        found = sa.or_(*(column.contains(sa.bindparam(None, grams, grams_type))
                         for grams in lists))  # fmt: skip
    return sa.or_(found, model.party_credit_code == q.upper(), model.party_id_number == q.upper())


def candidate_count(model: type, q: str, tokens: list[str], cap: int) -> int:
    """SQLite: the words' FTS candidates counted up to `cap`, from the index alone."""
    lists = [grams + tokens for grams in _lookup(model, q, "sqlite")]
    fts = f"{model.__tablename__}_grams"
    expression = " OR ".join(
        "(" + " AND ".join(search._phrase(gram) for gram in grams) + ")" for grams in lists
    )
    return db.session.scalar(
        sa.text(f"SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH :match"
                " LIMIT :cap)"), {"match": expression, "cap": cap},
    )  # fmt: skip


@dataclass(frozen=True)
class StaffSearch:
    """How the staff list reads one search: its conditions (the filters', the words' with the
    index's where it serves), whether the page walks the table newest entered first, and
    whether the words certainly have more than the count's limit."""

    conditions: list
    walk: bool
    more_than_counted: bool
    counted: list  # the conditions the count reads (through the index)
    searched: bool = False  # words: the count reads the index (by_index)


def _staff_hits(model: type, q: str, dialect: str, unit: str, late: bool) -> tuple[int, int]:
    """How many sampled rows have the words in their party's name (whoever the party) or
    document number, within the unit and among the late decisions when asked (a common word
    is rare in one unit: walking the table for it would read a great part of it), and how
    many ids a sampled row stands for."""
    lower = search.ascii_lower if dialect == "sqlite" else str.lower
    drawn = search.sample(model, lower)
    text = lower(q)
    hits = sum(
        text in row.staff and (not unit or row.unit == unit) and (not late or row.late)
        for row in drawn.rows
    )
    return hits, drawn.step


def plan(model: type, q: str, filters: list, *, unit: str = "", late: bool = False
         ) -> StaffSearch:  # fmt: skip
    """The conditions of the staff list with the filters' `filters` (among them `unit`, and
    late=1 when `late`) and the words `q`."""
    if not q:
        return StaffSearch(filters, walk=False, more_than_counted=False, counted=filters)
    dialect = db.session.get_bind().dialect.name
    condition = matching(model, q)
    tokens = search.filter_tokens(DecisionFilters(unit=unit, late=late or None))
    indexed = [*filters, index_condition(model, q, tokens), condition]
    hits, step = _staff_hits(model, q, dialect, unit, late)
    more = hits >= search.MORE_HITS and hits * step >= 10 * STAFF_SEARCH_COUNT_LIMIT
    walk = hits >= WALK_HITS
    if not walk and dialect == "sqlite":
        # a word of the items' names (not searched by staff) has many candidates, few rows
        walk = candidate_count(model, q, tokens, CANDIDATE_LIMIT) >= CANDIDATE_LIMIT
    page = [*filters, condition] if walk else indexed
    return StaffSearch(page, walk=walk, more_than_counted=more, counted=indexed, searched=True)


# PostgreSQL: what the planner may not do while reading a search's candidates through the
# indexes (its estimate of a GIN lookup is often far too high: it would walk the table by id)
INDEX_SETTINGS = ["enable_indexscan", "enable_seqscan"]


@contextmanager
def by_index(on: bool) -> Iterator[None]:
    """PostgreSQL: the statements inside read bitmaps of the indexes (GIN, and the code's and
    ID number's B-trees), for this transaction only, when `on`."""
    if not on or db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    search._set(INDEX_SETTINGS, restore=False)
    try:
        yield
    finally:
        search._set(INDEX_SETTINGS, restore=True)


def capped_count(model: type, conditions: list, cap: int) -> int:
    """The rows of a kind meeting `conditions`, counted up to cap + 1."""
    rows = sa.select(sa.literal(1)).select_from(model).where(*conditions).limit(cap + 1)
    return db.session.scalar(sa.select(sa.func.count()).select_from(rows.subquery()))


@dataclass(frozen=True)
class StaffPage:
    rows: list
    total: int
    total_exact: bool
    next_before: int | None


def page(model: type, found: StaffSearch, *, q: str, before: int | None,
         size: int) -> StaffPage:  # fmt: skip
    """A page of the staff list, newest entered first, and its count up to its limit: the
    page's ids first (an index alone may hold them: a unit's through ix_*_unit_order, sorted),
    then their rows. The count comes first: when the filters select no more than its limit,
    SQLite reads their rows through the filters' index and sorts them (`id + 0` keeps it from
    walking the whole table newest first for a unit with none: 300–550 ms)."""
    cap = STAFF_SEARCH_COUNT_LIMIT if q else STAFF_COUNT_LIMIT
    with by_index(found.searched):
        count = cap + 1 if found.more_than_counted else capped_count(model, found.counted, cap)
    few = count <= cap and not found.walk and db.session.get_bind().dialect.name == "sqlite"
    order = (model.id + 0) if few else model.id
    statement = sa.select(model.id).where(*found.conditions).order_by(order.desc())
    if before is not None:
        statement = statement.where(model.id < before)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    with search.walking(found.walk and postgres), by_index(found.searched and not found.walk):
        ids = db.session.scalars(statement.limit(size + 1)).all()
    rows = db.session.scalars(
        sa.select(model).where(model.id.in_(ids)).order_by(model.id.desc())
    ).all()
    following = rows[size - 1].id if len(rows) > size else None
    return StaffPage(rows[:size], min(count, cap), count <= cap, following)


def export_count(model: type, found: StaffSearch, cap: int) -> int:
    """The records an export would write, counted up to cap + 1 through the index."""
    with by_index(found.searched):
        return capped_count(model, found.counted, cap)


def options(model: type) -> tuple[list[str], list[int]]:
    """The units and the years of a kind's decisions (every one: staff see them all), through
    the indexes: the units walked through ix_*_unit_order, the years from the first and the
    last decision in the list's order (min and max in one statement read the whole table on
    SQLite)."""
    units = listing.units_with(model, [])
    days = [
        db.session.scalar(sa.select(model.decided_on).order_by(order, model.id).limit(1))
        for order in (model.decided_on, model.decided_on.desc())
    ]
    if days[0] is None:
        return units, []
    return units, list(range(days[1].year, days[0].year - 1, -1))
