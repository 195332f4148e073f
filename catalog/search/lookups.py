"""A term's handling items through the indexes: the parts held in the process for a word with
a Chinese character or of 1-2 letters and digits (catalog.search.part_list), one prepared
statement for any other (FTS5 trigrams on SQLite, pg_trgm GIN indexes on PostgreSQL); the
frame's bits for the common words."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from catalog.extensions import db
from catalog.models import SearchEntry, SearchPart, SearchPosting
from catalog.search.common import POSITION as COMMON_POSITION
from catalog.search.frame import Frame, id_list, parse_ids
from catalog.search.part_list import PartSearch
from catalog.search.terms import Term, _like_pattern, _matching_words, spells
from catalog.search.text import TERM_PATTERN

# FTS5 indexes of search_entry on SQLite (migrations 0009, 0023): trigrams of name and body,
# and of the name alone (a lookup in the name then walks only the name's entries). (Those of
# the characters and pairs, for 1-2 characters, went with 0043: the parts serve those words.)
_FTS = sa.table("search_fts", sa.column("rowid"))
_NAME_FTS = sa.table("search_name_fts", sa.column("rowid"))
FTS_MIN_LENGTH = 3  # the trigram tokenizer cannot MATCH fewer characters
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


# The lookups a search makes, each one statement with one parameter ("value"), built once a
# database kind (building a statement, and its key in SQLAlchemy's compiled cache, cost about
# as much as running a lookup of a rare word).
_LOOKUPS: dict[str, Callable[[], sa.Select]] = {
    "fts": _matched(_FTS),  # SQLite: an FTS5 query
    "name_fts": _matched(_NAME_FTS),
    "like": _liked(SearchEntry.name, SearchEntry.body),  # a LIKE pattern
    "name_like": _liked(SearchEntry.name),
    "parts": _parts(name_only=False),  # a word with a character no code has, or 1-2 letters
    "name_parts": _parts(name_only=True),
}


@functools.cache
def _prepared(kind: str, dialect: str) -> tuple[sa.Select, sa.Select]:
    rows = _LOOKUPS[kind]()
    return rows, rows.with_only_columns(id_list(rows.selected_columns[0], dialect=dialect))


@dataclass(frozen=True)
class Lookup:
    """Handling item ids through an index: a statement of rows of ids, the same ids as one id
    list (what a search reads), and the statements' parameters."""

    rows: sa.Select
    id_list: sa.Select
    params: Mapping[str, str]

    @classmethod
    def of(cls, kind: str, value: str) -> Lookup:
        return cls(*_prepared(kind, _dialect()), {"value": value})

    def ids(self) -> np.ndarray:
        return parse_ids(db.session.scalar(self.id_list, self.params))


def _sqlite_lookups(words: list[str], *, name_only: bool) -> list[Lookup]:
    """SQLite, the words not looked up through the parts: one FTS5 query of the trigram table
    for all those of 3+ characters; LIKE for a shorter one (letters or digits with something
    else: "a-", "%"), which no index holds."""
    long = [word for word in words if len(word) >= FTS_MIN_LENGTH]
    like = "name_like" if name_only else "like"
    lookups = [Lookup.of(like, _like_pattern(word)) for word in words if word not in long]
    if long:  # (a Latin word's spelling of the item name comes from the frame: Frame.spelt)
        lookups.append(Lookup.of("name_fts" if name_only else "fts", _any_of(long)))
    return lookups


def _postgres_lookup(word: str, *, name_only: bool) -> Lookup:
    """PostgreSQL, a word not looked up through the parts: LIKE, served by the pg_trgm GIN
    indexes for 3+ characters."""
    return Lookup.of("name_like" if name_only else "like", _like_pattern(word))


def in_parts(word: str) -> bool:
    """Whether a word is looked up over the entries' parts (catalog.search.parts): no space (the
    parts are joined by spaces, so a word without one is in an entry exactly when it is in a
    part), and either a character no code has (codes are ASCII: schemas.CODE_PATTERN) or 1-2
    letters and digits, which do not match inside the codes (0037) and which the parts, like
    the index of characters and pairs they replace (dropped by 0043), hold without them. A
    longer ASCII word may be a code or in one: the trigram indexes of the body."""
    if " " in word:
        return False
    return not word.isascii() or (
        len(word) < FTS_MIN_LENGTH and TERM_PATTERN.fullmatch(word) is not None
    )


# The databases whose Chinese words are looked up through the parts: PostgreSQL, where the GIN
# indexes visited every match's row; and SQLite, where FTS5 read as fast as the postings but
# grew with the matches, and the postings are now held in the process with the search frame
# (catalog.search.postings; docs/search-speed.md, "Growth").
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
