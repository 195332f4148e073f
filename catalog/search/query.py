"""Search the published catalog the way people type: short words, abbreviations, pinyin.

A query is split into terms that must all match (AND). A term matches a handling item when it,
or a word the synonym list maps it to, is a substring of the item name and situation or of the
materials, legal bases and result; a term of Latin letters also matches the pinyin or the
initials of the item name. Substring matching works for terms of any length, 1 and 2 Chinese
characters included. Results are ranked: exact name, name prefix, name substring, other fields.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from catalog.enums import CaseType, ItemType, Status
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem, SearchEntry
from catalog.revision import Cache, current_stamp
from catalog.search.text import (
    LATIN_PATTERN,
    TERM_PATTERN,
    Synonyms,
    highlight,
    normalise,
    spaced_characters,
)

MAX_QUERY_LENGTH = 100
MAX_TERMS = 8
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Searches (query, filters, page) kept per revision of the catalog; the size is the app's
# SEARCH_RESULT_CACHE setting.
results_cache = Cache(2048)


class SearchError(ValueError):
    """A query or filter that cannot be searched; the message says why, in Chinese."""


def _like_pattern(word: str, *, prefix: bool = False) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix else f"%{escaped}%"


def _contains(column: sa.ColumnElement[str], word: str) -> sa.ColumnElement[bool]:
    return column.like(_like_pattern(word), escape="\\")


def _starts(column: sa.ColumnElement[str], word: str) -> sa.ColumnElement[bool]:
    return column.like(_like_pattern(word, prefix=True), escape="\\")


@dataclass(frozen=True)
class Term:
    text: str
    words: tuple[str, ...]  # the term and what the synonym list maps it to

    @property
    def is_latin(self) -> bool:
        return bool(LATIN_PATTERN.match(self.text))


def parse_query(query: str, synonyms: Synonyms) -> list[Term]:
    """Split a query into AND-ed terms; punctuation and operators are only separators."""
    text = normalise(query or "").strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchError(f"搜索词过长：最多{MAX_QUERY_LENGTH}个字符。")
    tokens = list(
        dict.fromkeys(synonyms.strip_fillers(token) for token in TERM_PATTERN.findall(text))
    )
    if len(tokens) > MAX_TERMS:
        raise SearchError(f"搜索词过多：最多{MAX_TERMS}个词，请用更少的词。")
    return [Term(token, synonyms.expand(token)) for token in tokens]


def _spelling_matches(term: Term) -> sa.ColumnElement[bool]:
    """A Latin term spells the item name: a piece of its pinyin, or its initials."""
    conditions = [
        _contains(SearchEntry.pinyin, term.text),
        _starts(SearchEntry.initials, term.text),
    ]
    if len(term.text) >= 3:
        conditions.append(_contains(SearchEntry.initials, term.text))
    return sa.or_(*conditions)


def term_in_name(term: Term) -> sa.ColumnElement[bool]:
    conditions = [_contains(SearchEntry.name, word) for word in term.words]
    if term.is_latin:
        conditions.append(_spelling_matches(term))
    return sa.or_(*conditions)


def _matching_words(term: Term) -> list[str]:
    """The words a term is matched by: a word that contains another of them finds nothing more
    (运输证 adds nothing to 运输), so it costs a lookup for nothing."""
    return [w for w in term.words if not any(o != w and o in w for o in term.words)]


# FTS5 indexes of search_entry on SQLite: trigrams of (name, body), created by migration 0003,
# and single characters of chars, created by 0008.
_FTS = sa.table("search_fts", sa.column("rowid"))
_CHARS = sa.table("search_chars", sa.column("rowid"))
FTS_MIN_LENGTH = 3  # the trigram tokenizer cannot MATCH fewer characters
_SIMPLE = sa.literal_column("'simple'::regconfig")


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _fts_rows(table: sa.TableClause, phrase: str) -> sa.Select:
    return sa.select(table.c.rowid).where(sa.literal_column(table.name).op("MATCH")(phrase))


def _like_word(word: str) -> sa.ColumnElement[bool]:
    return sa.or_(_contains(SearchEntry.name, word), _contains(SearchEntry.body, word))


def _sqlite_word_rows(word: str) -> sa.Select:
    """Handling item ids whose name or body contains the word, through an FTS5 index: the
    trigram table for 3+ characters, else the table of single characters, where a short
    word is a phrase of one-character tokens."""
    if len(word) >= FTS_MIN_LENGTH:
        return _fts_rows(_FTS, _phrase(word))
    if not TERM_PATTERN.fullmatch(word):  # a synonym with punctuation: the index drops it
        return sa.select(SearchEntry.handling_item_id).where(_like_word(word))
    return _fts_rows(_CHARS, _phrase(spaced_characters(word)))


def _sqlite_term_rows(term: Term) -> sa.Select:
    selects = [_sqlite_word_rows(word) for word in _matching_words(term)]
    if term.is_latin:
        selects.append(sa.select(SearchEntry.handling_item_id).where(_spelling_matches(term)))
    if len(selects) == 1:
        return selects[0]
    union = sa.union(*selects).subquery()  # SQLite takes no parenthesised compound members
    return sa.select(union.c[0])


def _word_matches(word: str) -> sa.ColumnElement[bool]:
    """PostgreSQL (the other supported database): LIKE, served by the pg_trgm GIN indexes for
    3+ characters. A shorter word takes its candidates from the GIN index of single characters
    (every character of the word present: an AND query, which the index answers without
    reading the rows; a phrase query would recompute each candidate's tsvector, 15-30 s for a
    common word at 300,000 items), and LIKE keeps the exact matches."""
    like = _like_word(word)
    if len(word) >= FTS_MIN_LENGTH or not TERM_PATTERN.fullmatch(word):
        return like
    every_character = " & ".join(f"'{character}'" for character in word)
    vector = sa.func.to_tsvector(_SIMPLE, SearchEntry.chars)
    return sa.and_(vector.op("@@")(sa.func.to_tsquery(_SIMPLE, every_character)), like)


def match_condition(terms: list[Term]) -> sa.ColumnElement[bool]:
    """Every term matches: one of its words is a substring of the name or the body, or a
    Latin term spells the name.

    SQLite: the handling item ids from the FTS5 indexes, one compound query (a union a term,
    intersected over the terms), so the matches are found once, without reading search_entry.
    PostgreSQL: conditions on search_entry, which the planner serves from the GIN indexes.
    """
    if _dialect() == "sqlite":
        rows = [_sqlite_term_rows(term) for term in terms]
        return HandlingItem.id.in_(rows[0] if len(rows) == 1 else sa.intersect(*rows))
    conditions = []
    for term in terms:
        words = [_word_matches(word) for word in _matching_words(term)]
        spelling = [_spelling_matches(term)] if term.is_latin else []
        conditions.append(sa.or_(*words, *spelling))
    return sa.and_(*conditions)


def rank_expression(query: str, terms: list[Term]) -> sa.ColumnElement[int]:
    """0 exact name, 1 name prefix, 2 every term in the name, 3 found in other fields."""
    if not terms:
        return sa.literal(0)
    whole = "".join(term.text for term in terms)
    exact = {whole, normalise(query).strip()}
    if len(terms) == 1:
        exact.update(terms[0].words)
    exact_name = [SearchEntry.item_name == word for word in exact]
    prefix = [_starts(SearchEntry.item_name, word) for word in exact]
    if terms[0].is_latin and len(terms) == 1:
        exact_name += [SearchEntry.pinyin == whole, SearchEntry.initials == whole]
        prefix += [_starts(SearchEntry.pinyin, whole)]
    return sa.case(
        (sa.or_(*exact_name), 0),
        (sa.or_(*prefix), 1),
        (sa.and_(*[term_in_name(term) for term in terms]), 2),
        else_=3,
    )


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

    def conditions(self, *, without: str | None = None) -> list[sa.ColumnElement[bool]]:
        checks = {
            "type": self.type is not None and ApprovalItem.item_type == self.type,
            "unit": self.unit is not None and ApprovalItem.handling_unit == self.unit,
            "no_visit": self.no_visit and HandlingItem.visits == 0,
            "instant": self.instant and HandlingItem.case_type == CaseType.instant,
            "no_fee": self.no_fee and HandlingItem.charges_fee.is_(False),
            "one_visit": self.one_visit and HandlingItem.visits <= 1,
        }
        return [check for name, check in checks.items() if name != without and check is not False]

    def as_args(self) -> dict[str, str]:
        args = {name: "1" for name in self.FLAGS if getattr(self, name)}
        if self.type is not None:
            args["type"] = self.type.value
        if self.unit is not None:
            args["unit"] = self.unit
        return args


@dataclass
class Hit:
    handling_item: HandlingItem
    rank: int

    @property
    def item(self) -> ApprovalItem:
        return self.handling_item.item


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


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        rank, code = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(rank, int) or not isinstance(code, str):
            raise ValueError
        return rank, code
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
        raise SearchError("分页参数无效，请从第一页重新开始。") from None


def _base(terms: list[Term], *, entry: bool = False) -> sa.Select:
    """The published handling items matching every term; `entry` joins the search entry (for
    ranking; PostgreSQL always reads it)."""
    statement = (
        sa.select(HandlingItem.id)
        .join(ApprovalItem, HandlingItem.item_id == ApprovalItem.id)
        .where(ApprovalItem.status == Status.published, HandlingItem.status == Status.published)
    )
    if not terms:
        return statement.join(SearchEntry) if entry else statement
    if entry or _dialect() != "sqlite":
        statement = statement.join(SearchEntry, SearchEntry.handling_item_id == HandlingItem.id)
    return statement.where(match_condition(terms))


# One aggregate over the matches gives the total and every facet: the matches grouped by
# everything a facet or a filter looks at (a few hundred groups at most), then summed here.
_GROUP_COLUMNS = (
    ApprovalItem.item_type,
    ApprovalItem.handling_unit,
    HandlingItem.visits == 0,
    HandlingItem.case_type == CaseType.instant,
    HandlingItem.charges_fee.is_(False),
    HandlingItem.visits <= 1,
)


@dataclass(frozen=True)
class _Group:
    type: str
    unit: str
    no_visit: bool
    instant: bool
    no_fee: bool
    one_visit: bool
    count: int

    def passes(self, filters: Filters, *, without: str | None = None) -> bool:
        if (
            without != "type"
            and filters.type is not None
            and self.type != ItemType(filters.type).value
        ):
            return False
        if without != "unit" and filters.unit is not None and self.unit != filters.unit:
            return False
        return all(
            getattr(self, flag)
            for flag in Filters.FLAGS
            if flag != without and getattr(filters, flag)
        )


def _groups(terms: list[Term]) -> list[_Group]:
    statement = _base(terms).with_only_columns(*_GROUP_COLUMNS, sa.func.count(HandlingItem.id))
    return [
        _Group(str(getattr(kind, "value", kind)), unit, bool(no_visit), bool(instant),
               bool(no_fee), bool(one_visit), int(count))
        for kind, unit, no_visit, instant, no_fee, one_visit, count in db.session.execute(
            statement.group_by(*_GROUP_COLUMNS)
        )
    ]  # fmt: skip


def _counts(groups: list[_Group], filters: Filters) -> tuple[int, dict[str, dict[str, int]]]:
    """The total under `filters`, and the facets: each count under every filter but its own;
    a flag's count with the flag set."""
    total = sum(group.count for group in groups if group.passes(filters))
    facets: dict[str, dict[str, int]] = {}
    for name in ("type", "unit"):
        counts: dict[str, int] = {}
        for group in groups:
            if group.passes(filters, without=name):
                key = getattr(group, name)
                counts[key] = counts.get(key, 0) + group.count
        facets[name] = dict(sorted(counts.items(), key=lambda entry: (-entry[1], entry[0])))
    facets["flags"] = {
        flag: sum(g.count for g in groups if g.passes(filters) and getattr(g, flag))
        for flag in Filters.FLAGS
    }
    return total, facets


# The page's hits with their items: one statement for the page, not one a hit; built once, as
# building it (and its key in SQLAlchemy's compiled cache) cost more than a cached search.
_PAGE_HITS = (
    sa.select(HandlingItem)
    .where(HandlingItem.id.in_(sa.bindparam("ids", expanding=True)))
    .options(joinedload(HandlingItem.item))
)


def search(
    query: str,
    filters: Filters,
    *,
    synonyms: Synonyms,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    with_facets: bool = True,
) -> SearchResult:
    """One page of ranked hits with the total, facet counts and the next page's cursor."""
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"每页条数须在1到{MAX_LIMIT}之间。")
    terms = parse_query(query, synonyms)
    after = decode_cursor(cursor) if cursor else None

    def compute() -> tuple[list[tuple[int, str, int]], int, dict[str, dict[str, int]]]:
        rank = rank_expression(query, terms).label("rank")
        page = _base(terms, entry=True).where(*filters.conditions())
        page = page.with_only_columns(HandlingItem.id, HandlingItem.code, rank)
        if after:
            page = page.where(sa.or_(
                rank > after[0], sa.and_(rank == after[0], HandlingItem.code > after[1])
            ))  # fmt: skip
        page = page.order_by(rank, HandlingItem.code).limit(limit + 1)
        return [tuple(row) for row in db.session.execute(page)], *_counts(_groups(terms), filters)

    # The expensive part (ranking every match, counting the facets) is kept per revision of
    # the catalog: a repeated search, until the next change, reads one row and the page.
    key = (db.engine.url.render_as_string(hide_password=True), current_stamp(),
           tuple(t.words for t in terms), normalise(query), filters, after, limit)  # fmt: skip
    rows, total, facets = results_cache.get(key, compute)
    more = len(rows) > limit
    rows = rows[:limit]
    loaded = {h.id: h for h in db.session.scalars(_PAGE_HITS, {"ids": [row[0] for row in rows]})}
    hits = [Hit(loaded[row_id], rank) for row_id, _code, rank in rows]
    words = tuple(dict.fromkeys(word for term in terms for word in term.words))
    return SearchResult(
        terms=terms,
        filters=filters,
        hits=hits,
        total=total,
        facets=facets if with_facets else {},
        next_cursor=encode_cursor(rows[-1][2], rows[-1][1]) if more else None,
        highlight_words=words,
    )


def similar_names(query: str, *, limit: int = 5) -> list[tuple[str, str]]:
    """(code, name) of published items sharing the most two-character pieces with `query`.

    For an empty result page: a misspelt or over-long query usually shares a few pairs of
    characters with the name that was meant.
    """
    text = "".join(TERM_PATTERN.findall(normalise(query or "")))[:MAX_QUERY_LENGTH]
    pieces = list(dict.fromkeys(text[i : i + 2] for i in range(len(text) - 1)))[:20]
    if not pieces:
        return []
    shared = sum(
        (sa.case((_contains(SearchEntry.item_name, piece), 1), else_=0) for piece in pieces),
        sa.literal(0),
    )
    rows = db.session.execute(
        sa.select(ApprovalItem.code, ApprovalItem.name, sa.func.max(shared).label("shared"))
        .join(HandlingItem, HandlingItem.item_id == ApprovalItem.id)
        .join(SearchEntry, SearchEntry.handling_item_id == HandlingItem.id)
        .where(ApprovalItem.status == Status.published, HandlingItem.status == Status.published)
        .where(sa.or_(*[_contains(SearchEntry.item_name, piece) for piece in pieces]))
        .group_by(ApprovalItem.code, ApprovalItem.name)
        .order_by(sa.desc("shared"), ApprovalItem.code)
        .limit(limit)
    )
    return [(code, name) for code, name, _shared in rows]
