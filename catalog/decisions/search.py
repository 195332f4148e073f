"""The public list's search words at 1,000,000 decisions (issue 24 part 8): what they match and
how an index finds the rows (docs/decision-search-speed.md has the measurements).

What a search matches is one condition, `matching`: an organisation's or sole trader's name (in
part), the beginning of its credit code (4 characters or more), the document number (in part),
and the licence item's name or the penalty's violation type (in part); never a natural person.
A whole valid credit code is looked up as a code only.

The indexes of migration 0034 hold the "grams" of those texts: each character and each pair of
adjacent characters, lower-cased (ASCII), and "^" with each leading part of the credit code. A
word of 1 or 2 characters is one gram; a longer one is looked up by its rarest pairs and its
rows are checked with `matching`, so the index only narrows the rows and the condition decides.
- SQLite: an FTS5 table per kind whose rowid is the list's order (the decision day << 32 | id):
  its matches come newest first, so a page reads the first few and stops (`Candidates`).
- PostgreSQL: a GIN index of the column search_grams; the planner walks the (decided_on, id)
  index for a common word and reads the GIN index for a rare one (`gram_condition`).
A count stops at SEARCH_COUNT_LIMIT: "more than 1,000" costs what 1,000 cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from catalog.decisions import public_rows
from catalog.decisions.filters import Cursor, DecisionFilters
from catalog.decisions.publication import (
    PENALTY,
    SEARCHABLE_CLASSES,
    PublicDecision,
    public_decision,
)
from catalog.decisions.rules import add_months, credit_code_error
from catalog.extensions import db
from catalog.models import PublicationPeriod

SEARCH_COUNT_LIMIT = 1_000  # a search counts its matches up to this, then says "more than"
CODE_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")  # GB 32100-2015
MIN_CODE_PREFIX = 4
RARE_PAIRS = 3  # a longer word is looked up by this many of its rarest pairs
JULIAN_OFFSET = 1_721_424  # date.toordinal() + this = SQLite's julianday() as an integer
ID_BITS = 32
FIRST_CHUNK, LAST_CHUNK = 64, 1024  # candidates read at a time, growing
STATISTICS_SECONDS = 600  # PostgreSQL: how long the pairs' frequencies are reused
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-cased as SQLite's lower() does it (ASCII letters only)."""
    return text.translate(_ASCII_LOWER)


def full_credit_code(q: str) -> str | None:
    """The words as a whole, valid 统一社会信用代码 (spaces and dashes ignored), or None."""
    code = q.replace(" ", "").replace("-", "").upper()
    if len(code) == 18 and code.isascii() and credit_code_error(code) is None:
        return code
    return None


@dataclass(frozen=True)
class Words:
    """The search words as the indexes look them up: the grams of the text (the word itself
    for 1 or 2 characters, else its pairs of characters without a space), and the beginning
    of a credit code when the words could be one."""

    text: str
    grams: tuple[str, ...]
    code_prefix: str | None

    @classmethod
    def of(cls, q: str) -> Words:
        lowered = ascii_lower(q)
        if len(lowered) <= 2:
            grams = (lowered,)
        else:
            pairs = [lowered[i : i + 2] for i in range(len(lowered) - 1)]
            grams = tuple(dict.fromkeys(p for p in pairs if not any(c.isspace() for c in p)))
            if not grams:  # only spaced pairs ("a b c"): the characters
                grams = tuple(dict.fromkeys(c for c in lowered if not c.isspace()))
        code = q.replace(" ", "").replace("-", "").upper()
        prefix = code if MIN_CODE_PREFIX <= len(code) < 18 and set(code) <= CODE_ALPHABET else None
        return cls(q, grams, prefix)


def matching(model: type, q: str, subject: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """The rows of one kind that the search words find: `subject` is the licence item's name
    or the penalty's violation type. Never a natural person's name or ID number."""
    searchable = model.party_class.in_(SEARCHABLE_CLASSES)
    code = full_credit_code(q)
    if code is not None:  # by the index on party_credit_code, whatever the size of the table
        return sa.and_(searchable, model.party_credit_code == code)
    words = Words.of(q)
    conditions = [
        sa.and_(searchable, model.party_name.icontains(q, autoescape=True)),
        model.document_number.icontains(q, autoescape=True),
        subject.icontains(q, autoescape=True),
    ]
    if words.code_prefix:
        conditions.append(sa.and_(searchable, model.party_credit_code.startswith(
            words.code_prefix, autoescape=True)))  # fmt: skip
    return sa.or_(*conditions)


def _phrase(gram: str) -> str:
    return '"' + gram.replace('"', '""') + '"'


# --- PostgreSQL: the GIN index of search_grams -----------------------------------------------

_frequencies: dict[tuple[str, str], tuple[float, dict[str, float]]] = {}


def _postgres_frequencies(table: str) -> dict[str, float]:
    """The share of rows holding each common gram (ANALYZE's most common elements of
    search_grams; a gram not listed is rarer than all listed), reused for a while."""
    key = (str(db.engine.url), table)
    cached = _frequencies.get(key)
    if cached and time.monotonic() - cached[0] < STATISTICS_SECONDS:
        return cached[1]
    row = db.session.execute(sa.text(
        "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats"
        " WHERE schemaname = current_schema() AND tablename = :table"
        " AND attname = 'search_grams'"
    ), {"table": table}).first()  # fmt: skip
    found = dict(zip(row[0], row[1], strict=False)) if row and row[0] else {}
    _frequencies[key] = (time.monotonic(), found)
    return found


def gram_condition(model: type, q: str) -> sa.ColumnElement[bool] | None:
    """PostgreSQL: the rows whose search_grams hold the words' rarest grams (or the credit
    code's beginning), for the GIN index; None for a whole credit code (its own index)."""
    if full_credit_code(q) is not None:
        return None
    words = Words.of(q)
    grams_type = postgresql.ARRAY(sa.Text)
    column = sa.literal_column(f"{model.__tablename__}.search_grams", grams_type)
    frequency = _postgres_frequencies(model.__tablename__)
    grams = sorted(words.grams, key=lambda gram: frequency.get(gram, 0.0))[:RARE_PAIRS]
    looked_up = [grams] + ([["^" + words.code_prefix.lower()]] if words.code_prefix else [])
    conditions = [column.contains(sa.bindparam(None, keys, grams_type)) for keys in looked_up]
    return sa.or_(*conditions)


# --- SQLite: the FTS5 tables, newest first ---------------------------------------------------


def sort_key(day: date, row_id: int = 0) -> int:
    """The FTS rowid of a decision: its place in the list's order (newest last)."""
    return ((day.toordinal() + JULIAN_OFFSET) << ID_BITS) | row_id


def from_sort_key(key: int) -> tuple[date, int]:
    return date.fromordinal((key >> ID_BITS) - JULIAN_OFFSET), key & ((1 << ID_BITS) - 1)


def _fts(model: type) -> str:
    return f"{model.__tablename__}_grams"


def _capped_count(table: str, expression: str) -> int:
    return db.session.scalar(
        sa.text(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH :match"
                " LIMIT :cap)"), {"match": expression, "cap": SEARCH_COUNT_LIMIT}
    )  # fmt: skip


def match_expression(model: type, q: str) -> str | None:
    """SQLite: the FTS5 query of the words' candidates, or None when no row can match (a pair
    of characters no row holds)."""
    words, table = Words.of(q), _fts(model)
    parts = []
    grams = list(words.grams)
    if len(grams) > 1:  # the rarest pairs: a count that stops early says which
        counts = {gram: _capped_count(table, _phrase(gram)) for gram in grams}
        grams = [] if 0 in counts.values() else sorted(grams, key=counts.get)[:RARE_PAIRS]
    if grams:
        parts.append(" AND ".join(_phrase(gram) for gram in grams))
    if words.code_prefix:
        parts.append(_phrase("^" + words.code_prefix.lower()))
    return " OR ".join(f"({part})" for part in parts) if parts else None


@dataclass(frozen=True)
class Candidates:
    """SQLite: the keys of one kind's rows that may match, newest first, between `above`
    (included) and `below` (excluded)."""

    model: type
    expression: str
    above: int | None = None
    below: int | None = None

    def chunks(self) -> Iterator[list[int]]:
        table, below, size = _fts(self.model), self.below, FIRST_CHUNK
        while True:
            bounds = "".join(
                (
                    " AND rowid < :below" if below is not None else "",
                    " AND rowid >= :above" if self.above is not None else "",
                )
            )
            keys = db.session.scalars(sa.text(
                f"SELECT rowid FROM {table} WHERE {table} MATCH :match{bounds}"
                " ORDER BY rowid DESC LIMIT :size"
            ), {"match": self.expression, "below": below, "above": self.above,
                "size": size}).all()  # fmt: skip
            if keys:
                yield keys
            if len(keys) < size:
                return
            below, size = keys[-1], min(size * 4, LAST_CHUNK)


def scan(candidates: Candidates, passing: Callable[[list[int]], set[int]], *, want: int,
         count_to: int = 0) -> tuple[list[int], int]:  # fmt: skip
    """The keys of the first `want` candidates whose rows pass (`passing` gets a chunk's row
    ids and returns those that pass), and how many pass, counted up to `count_to` (or to
    `want`)."""
    found: list[int] = []
    counted, enough = 0, max(want, count_to)
    for keys in candidates.chunks():
        kept = passing([key & ((1 << ID_BITS) - 1) for key in keys])
        for key in keys:
            if key & ((1 << ID_BITS) - 1) in kept:
                if len(found) < want:
                    found.append(key)
                counted += 1
                if counted >= enough:
                    return found, counted
    return found, counted


# --- SQLite: a page of a search ------------------------------------------------------------


def indexed(filters: DecisionFilters) -> bool:
    """Whether a search is served by the FTS order (SQLite): words other than a whole credit
    code, with no filter but the kind and the year (the rest are checked row by row and are
    left to the statement's own indexes)."""
    return (
        bool(filters.q)
        and db.session.get_bind().dialect.name == "sqlite"
        and full_credit_code(filters.q) is None
        and not (filters.unit or filters.status or filters.item or filters.category)
        and filters.late is None
    )


def indexed_page(filters: DecisionFilters, after: Cursor | None, limit: int,
                  today: date) -> tuple[list[PublicDecision], list[int]]:  # fmt: skip
    """SQLite: a page of a search and the count of each kind, from the FTS candidates newest
    first, each chunk of candidates checked in one statement."""
    keys, counts = {}, []
    for kind, model, select in public_rows.kinds(filters):
        expression = match_expression(model, filters.q)
        if expression is None:
            counts.append(0)
            continue
        above, below = key_bounds(kind, filters.year, today)
        checked = select(today).where(matching(model, filters.q, public_rows.subject(kind)))

        def passing(ids: list[int], model=model, checked=checked) -> set[int]:
            return set(db.session.scalars(
                checked.with_only_columns(model.id).where(model.id.in_(ids))))  # fmt: skip

        candidates = Candidates(model, expression, above, below)
        cap = SEARCH_COUNT_LIMIT + 1
        if after is None:
            keys[kind], counted = scan(candidates, passing, want=limit + 1, count_to=cap)
        else:
            start = sort_key(after.decided_on, after.id)
            if kind != after.kind:  # the other kind's rows of that day: before or after
                day = after.decided_on + timedelta(days=int(kind > after.kind))
                start = sort_key(day)
            below = start if below is None else min(below, start)
            page = Candidates(model, expression, above, below)
            keys[kind], _ = scan(page, passing, want=limit + 1)
            _, counted = scan(candidates, passing, want=0, count_to=cap)
        counts.append(counted)
    order = sorted(
        ((from_sort_key(key), kind) for kind, found in keys.items() for key in found),
        key=lambda entry: (-entry[0][0].toordinal(), entry[1], -entry[0][1]),
    )
    order = order[: limit + 1]  # fmt: skip
    loaded = {}
    for kind, model, select in public_rows.kinds(filters):
        ids = [row_id for (_day, row_id), of in order if of == kind]
        if ids:
            rows = db.session.execute(select(today).where(model.id.in_(ids))).all()
            loaded.update({(kind, row.id): public_decision(kind, row) for row in rows})
    return [loaded[kind, row_id] for (_day, row_id), kind in order], counts


def key_bounds(kind: str, year: int | None, today: date) -> tuple[int | None, int | None]:
    """The FTS keys a kind's public rows can have: the year's, and for penalties none decided
    before the longest publication period (catalog.decisions.checks holds every penalty's
    公示截止日期 within its rule's longest period; a few days' margin for month ends)."""
    above = below = None
    if year is not None:
        above, below = sort_key(date(year, 1, 1)), sort_key(date(year + 1, 1, 1))
    if kind == PENALTY:
        longest = db.session.scalar(sa.select(sa.func.max(PublicationPeriod.max_months)))
        if longest is not None:
            earliest = sort_key(add_months(today, -longest) - timedelta(days=4))
            above = earliest if above is None else max(above, earliest)
    return above, below
