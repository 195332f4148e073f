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
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

import numpy as np
import sqlalchemy as sa
from markupsafe import Markup

from catalog.enums import CaseType, ItemType
from catalog.extensions import db
from catalog.models import ApprovalItem, HandlingItem, SearchEntry, SearchPart, SearchPosting
from catalog.revision import Cache, is_uncommitted, revision_key
from catalog.search.common import POSITION as COMMON_POSITION
from catalog.search.delta import frame_of
from catalog.search.frame import Frame, frames, id_list, parse_ids
from catalog.search.part_list import PartSearch, part_list
from catalog.search.text import (
    LATIN_PATTERN,
    TERM_PATTERN,
    WORD_PATTERN,
    Synonyms,
    highlight,
    normalise,
)

MAX_QUERY_LENGTH = 100
MAX_TERMS = 8
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
NO_SYNONYMS = Synonyms({}, {})
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
    """Split a query into AND-ed terms; punctuation and operators are only separators, but for
    the hyphens of a code as written (WORD_PATTERN)."""
    text = normalise(query or "").strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchError(f"搜索词过长：最多{MAX_QUERY_LENGTH}个字符。")
    tokens = list(
        dict.fromkeys(synonyms.strip_fillers(token) for token in WORD_PATTERN.findall(text))
    )
    if len(tokens) > MAX_TERMS:
        raise SearchError(f"搜索词过多：最多{MAX_TERMS}个词，请用更少的词。")
    return [Term(token, synonyms.expand(token)) for token in tokens]


def _spelling_matches(text: str) -> sa.ColumnElement[bool]:
    """A Latin term spells the item name: a piece of its pinyin, or its initials (2 letters:
    their start only). The same rule as spells(), as SQL (for the few rows of a probe)."""
    conditions = [_contains(SearchEntry.pinyin, text), _starts(SearchEntry.initials, text)]
    if len(text) >= 3:
        conditions.append(_contains(SearchEntry.initials, text))
    return sa.or_(*conditions)


def spells(text: str) -> Callable[[str, str], bool]:
    """_spelling_matches() in Python, for the frame's distinct spellings (Frame.spelt); a test
    holds the two equal on both databases."""
    if len(text) >= 3:
        return lambda pinyin, initials: text in pinyin or text in initials
    return lambda pinyin, initials: text in pinyin or initials.startswith(text)


def _matching_words(term: Term) -> list[str]:
    """The words a term is matched by: a word that contains another of them finds nothing more
    (运输证 adds nothing to 运输), so it costs a lookup for nothing."""
    return [w for w in term.words if not any(o != w and o in w for o in term.words)]


# FTS5 indexes of search_entry on SQLite (migrations 0009, 0023): trigrams of name and body,
# and of the name alone; characters and pairs of characters of everything, and of the
# name alone (a lookup in the name then walks only the name's entries).
_FTS = sa.table("search_fts", sa.column("rowid"))
_NAME_FTS = sa.table("search_name_fts", sa.column("rowid"))
_CHARS = sa.table("search_chars", sa.column("rowid"))
_NAME_CHARS = sa.table("search_name_chars", sa.column("rowid"))
FTS_MIN_LENGTH = 3  # the trigram tokenizer cannot MATCH fewer characters
_SIMPLE = sa.literal_column("'simple'::regconfig")
_ENTRY_ID = SearchEntry.handling_item_id


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _any_of(words: list[str]) -> str:
    return "(" + " OR ".join(_phrase(word) for word in words) + ")"


def _matched(table: sa.TableClause) -> Callable[[], sa.Select]:
    return lambda: sa.select(table.c.rowid).where(
        sa.literal_column(table.name).op("MATCH")(sa.bindparam("value"))
    )


def _liked(*columns: sa.ColumnElement[str]) -> Callable[[], sa.Select]:
    pattern = sa.bindparam("value")
    return lambda: sa.select(_ENTRY_ID).where(
        sa.or_(*(column.like(pattern, escape="\\") for column in columns))
    )


def _parts(*, name_only: bool) -> Callable[[], sa.Select]:
    """The handling items with a part containing the word (a LIKE pattern), from the postings'
    primary key alone (catalog.search.parts)."""
    part, posting = SearchPart.__table__.c, SearchPosting.__table__.c
    matched = sa.select(part.id).where(part.text.like(sa.bindparam("value"), escape="\\"))
    if name_only:
        matched = matched.where(part.in_name)
    return lambda: sa.select(posting.handling_item_id).where(posting.part_id.in_(matched))


def _tokens(column: sa.ColumnElement[str]) -> Callable[[], sa.Select]:
    return lambda: sa.select(_ENTRY_ID).where(
        sa.func.to_tsvector(_SIMPLE, column).op("@@")(
            sa.func.plainto_tsquery(_SIMPLE, sa.bindparam("value"))
        )
    )


# The lookups a search makes, each one statement with one parameter ("value"), built once a
# database kind (building a statement, and its key in SQLAlchemy's compiled cache, cost about
# as much as running a lookup of a rare word).
_LOOKUPS: dict[str, Callable[[], sa.Select]] = {
    "fts": _matched(_FTS),  # SQLite: an FTS5 query
    "name_fts": _matched(_NAME_FTS),
    "chars": _matched(_CHARS),
    "name_chars": _matched(_NAME_CHARS),
    "like": _liked(SearchEntry.name, SearchEntry.body),  # a LIKE pattern
    "name_like": _liked(SearchEntry.name),
    "parts": _parts(name_only=False),  # a word with a character no code has
    "name_parts": _parts(name_only=True),
    "tokens": _tokens(SearchEntry.chars),  # PostgreSQL: a 1- or 2-character word
    "name_tokens": _tokens(SearchEntry.name_chars),
}


@functools.cache
def _prepared(kind: str, dialect: str) -> tuple[sa.Select, sa.Select]:
    rows = _LOOKUPS[kind]()
    return rows, rows.with_only_columns(id_list(rows.selected_columns[0], dialect=dialect))


# PostgreSQL plans a lookup of a 1- or 2-character token (GIN over to_tsvector of the entry's
# characters and pairs) with table scans off, then sets them back. For a token of every entry
# (the letters all the codes begin with: "hn" of HN-…) the planner expects every row from the
# index too, and charges the index's rows the same to_tsvector as a scan's (it cannot know the
# executor skips that recheck), so it chose a parallel scan parsing every entry's 1.5 KB text:
# 14-38 s at 300,000 handling items against 0.5-1.3 s through the index (docs/search-speed.md,
# "A token of every entry"). The codes were what made such tokens (0037 left them out of chars),
# but any token in most entries would plan the same. On an error the transaction's end sets
# them back.
TOKEN_KINDS = frozenset({"tokens", "name_tokens"})
_SCANS_OFF = sa.text(
    "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)"
)
_SCANS_BACK = sa.text("SELECT set_config('enable_seqscan', :before, true)")


@dataclass(frozen=True)
class Lookup:
    """Handling item ids through an index: a statement of rows of ids, the same ids as one id
    list (what a search reads), the statements' parameters, and whether the id list is read
    with table scans off (TOKEN_KINDS on PostgreSQL)."""

    rows: sa.Select
    id_list: sa.Select
    params: Mapping[str, str]
    scans_off: bool = False

    @classmethod
    def of(cls, kind: str, value: str) -> Lookup:
        dialect = _dialect()
        scans_off = dialect == "postgresql" and kind in TOKEN_KINDS
        return cls(*_prepared(kind, dialect), {"value": value}, scans_off)

    def ids(self) -> np.ndarray:
        if not self.scans_off:
            return parse_ids(db.session.scalar(self.id_list, self.params))
        before = db.session.execute(_SCANS_OFF).one()[0]
        found = db.session.scalar(self.id_list, self.params)
        db.session.execute(_SCANS_BACK, {"before": before})
        return parse_ids(found)


def _sqlite_lookups(words: list[str], *, name_only: bool) -> list[Lookup]:
    """SQLite: one FTS5 query a table for all the words. The trigram tables serve 3+
    characters; the tables of characters and pairs serve 1-2 characters, each one token."""
    long = [word for word in words if len(word) >= FTS_MIN_LENGTH]
    short = [word for word in words if len(word) < FTS_MIN_LENGTH]
    odd = [word for word in short if not TERM_PATTERN.fullmatch(word)]  # the index drops them
    short = [word for word in short if word not in odd]
    like = "name_like" if name_only else "like"
    lookups = [Lookup.of(like, _like_pattern(word)) for word in odd]
    if long:  # (a Latin word's spelling of the item name comes from the frame: Frame.spelt)
        lookups.append(Lookup.of("name_fts" if name_only else "fts", _any_of(long)))
    if short:
        lookups.append(Lookup.of("name_chars" if name_only else "chars", _any_of(short)))
    return lookups


def _postgres_lookup(word: str, *, name_only: bool) -> Lookup:
    """PostgreSQL: LIKE, served by the pg_trgm GIN indexes, for 3+ characters. A shorter word
    is one token of the characters and pairs (the default parser keeps a run of CJK characters
    or of letters whole, so "道路" stays one token), found by the GIN index of chars or of
    name_chars; a test checks every 1- and 2-character piece against a scan."""
    if len(word) >= FTS_MIN_LENGTH or not TERM_PATTERN.fullmatch(word):
        return Lookup.of("name_like" if name_only else "like", _like_pattern(word))
    return Lookup.of("name_tokens" if name_only else "tokens", word)


def in_parts(word: str) -> bool:
    """Whether a word is looked up over the entries' parts (catalog.search.parts): it has a
    character no code has (codes are ASCII: schemas.CODE_PATTERN) and no space (the parts are
    joined by spaces, so a word without one is in an entry exactly when it is in a part)."""
    return not word.isascii() and " " not in word


# The databases whose Chinese words are looked up through the parts: PostgreSQL, where the GIN
# indexes visited every match's row; and SQLite, where FTS5 read as fast as the postings but
# grew with the matches, and the postings are now held in the process once read
# (part_list.PostingsHeld; docs/search-speed.md, "Growth").
PARTS_ON = {"postgresql", "sqlite"}


@dataclass(frozen=True)
class PartsLookup:
    """A word's handling items through the parts held in the process (catalog.search.part_list):
    the same ids as Lookup.of("parts"), without the scan of the parts in the database."""

    parts: PartSearch
    word: str
    name_only: bool

    def ids(self) -> np.ndarray:
        return self.parts.ids_of(self.word, name_only=self.name_only)


def _term_lookups(
    words: list[str], *, name_only: bool, parts: PartSearch | None = None
) -> list[Lookup | PartsLookup]:
    """The ids whose name and situation (`name_only`), or any searched text, contain one of the
    words, through indexes (a Latin term's spelling of the item name: Frame.spelt). `parts`:
    the revision's parts, held in the process, for the words looked up through the parts."""
    dialect = _dialect()
    lookups: list[Lookup | PartsLookup] = []
    if parts is not None and name_only:
        # a word without a space is in an entry's name exactly when it is in its name part,
        # whatever its characters (the name holds no code): in the parts held, most often in
        # none, which costs no statement (a Latin word's name lookup read the index each time).
        # SQLite keeps FTS5 for the other words (as fast as the postings there).
        held = [
            word
            for word in words
            if " " not in word and (dialect in PARTS_ON or not in_parts(word))
        ]
        lookups = [PartsLookup(parts, word, name_only) for word in held]
        words = [word for word in words if word not in held]
    elif dialect in PARTS_ON:
        kind = "name_parts" if name_only else "parts"
        lookups = [PartsLookup(parts, word, name_only) if parts is not None
                   else Lookup.of(kind, _like_pattern(word))
                   for word in words if in_parts(word)]  # fmt: skip
        words = [word for word in words if not in_parts(word)]
    if dialect == "sqlite":
        return lookups + _sqlite_lookups(words, name_only=name_only)
    return lookups + [_postgres_lookup(word, name_only=name_only) for word in words]


def part_rows(word: str, *, name_only: bool = False) -> sa.Select:
    """The handling item ids with a part containing the word (in_parts), on either database:
    what PostgreSQL's searches read (the tests hold it to a scan on both)."""
    lookup = Lookup.of("name_parts" if name_only else "parts", _like_pattern(word))
    return lookup.rows.params(lookup.params)


def word_rows(word: str, *, name_only: bool = False) -> sa.Select:
    """The handling item ids whose name and situation (`name_only`), or any searched text,
    contain the word, through an index on either database."""
    (lookup,) = _term_lookups([word], name_only=name_only)
    return lookup.rows.params(lookup.params)


def _term_ids(
    frame: Frame, term: Term, *, name_only: bool, parts: PartSearch | None = None
) -> np.ndarray:
    """The handling items a term matches (in the name only, or anywhere), sorted; a Latin term
    spelling the item name matches in the name."""
    words = _matching_words(term)
    if not name_only and not term.is_latin and all(word in COMMON_POSITION for word in words):
        return frame.having(words)  # common words: the frame's bits, not a list from the index
    lists = [lookup.ids() for lookup in _term_lookups(words, name_only=name_only, parts=parts)]
    if term.is_latin:  # the spelling of the item name, from the frame's distinct spellings
        lists.append(frame.spelt(spells(term.text)))
    return frame.union(lists)


def _all_terms(
    frame: Frame, terms: list[Term], *, name_only: bool, parts: PartSearch | None = None
) -> np.ndarray:
    """The handling items every term matches, sorted."""
    ids = _term_ids(frame, terms[0], name_only=name_only, parts=parts)
    for term in terms[1:]:
        if not len(ids):
            break
        ids = frame.intersection(ids, _term_ids(frame, term, name_only=name_only, parts=parts))
    return ids


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where in `ids` (sorted) the wanted ids are, for those that are there."""
    places = np.searchsorted(ids, wanted)
    inside = places < len(ids)
    places, wanted = places[inside], wanted[inside]
    return places[ids[places] == wanted]


def _name_ranks(
    frame: Frame, ids: np.ndarray, query: str, terms: list[Term], parts: PartSearch | None = None
) -> np.ndarray:
    """The rank of each of `ids` (sorted): 0 exact name, 1 name prefix, else 3 (found in other
    fields) until _ranked_page tells apart 2 (every term in the name). A single Latin term is
    also an exact name when it is the name's whole pinyin or initials, and a prefix when it
    begins its pinyin: from the frame's spellings (the pinyin's prefix index lists the ids of
    every entry beginning daolu, a third of the catalog, from their rows on PostgreSQL). The
    item names are the frame's (Frame.name_ranks): the statement listing every name equal to
    or beginning with the words grew with the catalog (docs/search-speed.md, "Growth")."""
    if not terms:
        return np.zeros(len(ids), dtype=np.int64)
    whole = "".join(term.text for term in terms)
    exact = {whole, normalise(query).strip()}
    if len(terms) == 1:
        exact.update(terms[0].words)
    rank = frame.name_ranks(ids, sorted(exact))
    if terms[0].is_latin and len(terms) == 1:
        begins = _positions(ids, frame.spelt(lambda p, _i: p.startswith(whole)))
        rank[begins] = np.minimum(rank[begins], 1)
        rank[_positions(ids, frame.spelt(lambda p, i: whole in (p, i)))] = 0
    return rank


def _named(frame: Frame, ids: np.ndarray, terms: list[Term]) -> np.ndarray:
    """By position in `ids`: whether every term is in the name and situation, or spells the
    item name (a Latin term): rank 2. From the frame's distinct names and spellings, with no
    statement: a word's names were a lookup of the name's index (every name with a short
    word: a quarter of the catalog, more with it) or a probe of the first names' rows, and
    grew with the catalog (docs/search-speed.md, "Growth")."""
    named = np.ones(len(ids), dtype=bool)
    for term in terms:
        has = frame.named(ids, _matching_words(term))
        if term.is_latin:
            has[_positions(ids, frame.spelt(spells(term.text)))] = True
        named &= has
    return named


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


def _cursor_place(frame: Frame, code: str) -> int:
    """Where in code order the items after `code` begin."""
    after = db.session.scalar(
        sa.select(HandlingItem.id).where(HandlingItem.code > code)
        .order_by(HandlingItem.code).limit(1)
    )  # fmt: skip
    return frame.size if after is None or after >= frame.size else int(frame.order_of[after])


def _first(ids: np.ndarray, keys: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The `count` ids of the smallest keys, in order of key."""
    if len(keys) > count:
        chosen = np.argpartition(keys, count - 1)[:count]
        ids, keys = ids[chosen], keys[chosen]
    order = np.argsort(keys)
    return ids[order], keys[order]


def _ranked_page(
    frame: Frame, query: str, terms: list[Term], filters: Filters,
    after: tuple[int, str] | None, limit: int, parts: PartSearch | None = None,
) -> tuple[list[tuple[int, int]], int, dict[str, dict[str, int]]]:  # fmt: skip
    """(id, rank) of the page's hits and one more, the total and the facets."""
    matched = (
        frame.published_among(_all_terms(frame, terms, name_only=False, parts=parts))
        if terms
        else (frame.published_ids())
    )
    groups = frame.group_of[matched]
    total, facets = frame.counts(groups, filters)
    ids = matched[frame.allowed(filters)[groups]]  # sorted, as the matches are
    rank = _name_ranks(frame, ids, query, terms, parts)
    place = frame.order_of[ids].astype(np.int64)
    # one sort key: the rank, then the place in code order
    span = frame.size + 1
    threshold = after[0] * span + _cursor_place(frame, after[1]) if after else 0
    if terms:
        rank[(rank == 3) & _named(frame, ids, terms)] = 2
    keys = rank * span + place
    keep = keys >= threshold
    # the page is most often filled by the better ranks: only their keys are partitioned
    for better in range(3):
        chosen = keep & (rank <= better)
        if np.count_nonzero(chosen) > limit:
            keep = chosen
            break
    page = _first(ids[keep], keys[keep], limit + 1)
    return [(int(i), int(key // span)) for i, key in zip(*page, strict=True)], total, facets


# The page's hits with their items: one statement for the page, not one a hit, of the columns
# a result list shows (ORM objects of the handling items and their items cost 5 ms a page, more
# than the rest of a repeated search); built once, as building it (and its key in SQLAlchemy's
# compiled cache) cost more than a cached search.
_HANDLING = HandlingItem.__table__.c
_ITEM = ApprovalItem.__table__.c
_LISTED_HANDLING = [getattr(_HANDLING, f.name) for f in fields(ListedHandling)]
_LISTED_ITEM = [getattr(_ITEM, f.name) for f in fields(ListedItem)]
_PAGE_HITS = (
    sa.select(_HANDLING.id, *_LISTED_HANDLING, *_LISTED_ITEM)
    .join_from(HandlingItem.__table__, ApprovalItem.__table__, _HANDLING.item_id == _ITEM.id)
    .where(_HANDLING.id.in_(sa.bindparam("ids", expanding=True)))
)


def _listed(ids: list[int]) -> dict[int, tuple[ListedHandling, ListedItem]]:
    """The page's handling items and their items, by handling item id."""
    split = 1 + len(_LISTED_HANDLING)
    return {
        row[0]: (ListedHandling(*row[1:split]), ListedItem(*row[split:]))
        for row in db.session.execute(_PAGE_HITS, {"ids": ids})
    }


def search(
    query: str,
    filters: Filters,
    *,
    synonyms: Synonyms | Callable[[tuple[str, str]], Synonyms],
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    with_facets: bool = True,
) -> SearchResult:
    """One page of ranked hits with the total, facet counts and the next page's cursor.
    `synonyms` may be a function of the revision key (the app's stored list, kept per
    revision): the one revision read of the search then serves both."""
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"每页条数须在1到{MAX_LIMIT}之间。")
    revision = revision_key()
    if callable(synonyms):  # a blank query (browsing) has no word to look up
        synonyms = synonyms(revision) if (query or "").strip() else NO_SYNONYMS
    terms = parse_query(query, synonyms)
    after = decode_cursor(cursor) if cursor else None

    def compute() -> tuple[list[tuple[int, int]], int, dict[str, dict[str, int]]]:
        keep = not is_uncommitted(revision[1])  # a transaction's own: not a base for others
        frame = frames.get(revision, lambda: frame_of(revision, keep=keep))
        parts = PartSearch(part_list(revision)) if terms else None
        return _ranked_page(frame, query, terms, filters, after, limit, parts)

    # A search's ranking and counts are kept per revision of the catalog: a repeated search,
    # until the next change, reads one row and the page.
    key = (*revision, tuple(t.words for t in terms), normalise(query), filters, after,
           limit)  # fmt: skip
    rows, total, facets = results_cache.get(key, compute)
    more = len(rows) > limit
    rows = rows[:limit]
    listed = _listed([row_id for row_id, _rank in rows])
    hits = [Hit(*listed[row_id], rank) for row_id, rank in rows if row_id in listed]
    words = tuple(dict.fromkeys(word for term in terms for word in term.words))
    return SearchResult(
        terms=terms,
        filters=filters,
        hits=hits,
        total=total,
        facets=facets if with_facets else {},
        next_cursor=encode_cursor(hits[-1].rank, hits[-1].handling_item.code)
        if more and hits
        else None,
        highlight_words=words,
    )
