"""A query as terms: split, with the words the synonym list maps each to, and how a term's
words are matched (LIKE patterns; a Latin term's spelling of the item name)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from catalog.models import SearchEntry
from catalog.search.text import LATIN_PATTERN, WORD_PATTERN, Synonyms, normalise

MAX_QUERY_LENGTH = 100
MAX_TERMS = 8
NO_SYNONYMS = Synonyms({}, {})


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


@dataclass(frozen=True)
class Spelling:
    """Which spellings of an item name a Latin text matches: its pinyin and its initials each
    `IN` (the text is a piece of it), `BEGINS` (it begins with the text), `IS` (it is the
    text) or not at all (None). Called, it is the rule for one spelling; Frame.spelt matches
    it over the frame's distinct spellings joined and sorted, in C: the three matches of a
    Latin search (its ids, then its ranks' name prefix and whole name) took 0.26-0.99 ms over
    the 740 spellings at 300,000 one by one in Python, and take 0.03-0.51 ms, most of it now
    the ids of the spellings matched."""

    text: str
    pinyin: str | None
    initials: str | None

    IN, BEGINS, IS = "in", "begins", "is"

    def __call__(self, pinyin: str, initials: str) -> bool:
        return _matches(self.pinyin, self.text, pinyin) or _matches(
            self.initials, self.text, initials
        )


def _matches(how: str | None, text: str, spelling: str) -> bool:
    if how == Spelling.IN:
        return text in spelling
    if how == Spelling.BEGINS:
        return spelling.startswith(text)
    return how == Spelling.IS and spelling == text


def spells(text: str) -> Spelling:
    """_spelling_matches() in Python, for the frame's distinct spellings (Frame.spelt); a test
    holds the two equal on both databases."""
    return Spelling(text, Spelling.IN, Spelling.IN if len(text) >= 3 else Spelling.BEGINS)


def _matching_words(term: Term) -> list[str]:
    """The words a term is matched by: a word that contains another of them finds nothing more
    (运输证 adds nothing to 运输), so it costs a lookup for nothing."""
    return [w for w in term.words if not any(o != w and o in w for o in term.words)]
