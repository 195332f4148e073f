"""Text as search sees it: normalised, in pinyin, with synonyms and filler words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup, escape

_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e")
)
TERM_PATTERN = re.compile(r"[^\W_]+")  # letters, digits, CJK; everything else separates
# a query's words: letters, digits and CJK, and a code as written (HN-0304-29: Latin letters and
# digits joined by hyphens) kept whole, so that it is looked up as one word of 3+ characters
# (a word of 1 or 2 characters does not match inside the codes: catalog.search.index)
WORD_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+|[^\W_]+")
LATIN_PATTERN = re.compile(r"^[a-z]+$")


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, invisible characters dropped."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).lower()


def character_grams(text: str) -> str:
    """Every letter, digit or CJK character of `text` and every pair of adjacent ones, as
    tokens: "道路（运输）" -> "道 路 道路 运 输 运输". Pairs never span anything else.

    A word of 1 or 2 characters is then one token of an index (trigram indexes need 3
    characters), looked up without positions.
    """
    tokens: list[str] = []
    for run in TERM_PATTERN.findall(text):
        tokens.extend(run)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return " ".join(tokens)


def pinyin_of(text: str) -> tuple[str, str]:
    """Full pinyin and initials of the Chinese characters in `text` (phrase-aware readings).
    pypinyin is imported by the first call, not by every `flask` command: its phrase
    dictionary takes 0.3 s to load, an eighth of a command's start. A gunicorn worker loads
    it before its first request (wsgi.py), as a search needs it (the synonyms' spellings)."""
    from pypinyin import Style, lazy_pinyin

    full = "".join(lazy_pinyin(text, errors="ignore"))
    initials = "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore"))
    return full, initials


@dataclass(frozen=True)
class Synonyms:
    """Colloquial words and abbreviations mapped to the official words (seed/synonyms.yaml),
    and the filler words people wrap them in (seed/query_words.yaml)."""

    words: Mapping[str, tuple[str, ...]]
    by_pinyin: Mapping[str, tuple[str, ...]]  # full pinyin or initials of a key -> its words
    prefixes: tuple[str, ...] = ()  # longest first
    suffixes: tuple[str, ...] = ()

    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, Iterable[str]],
        *,
        prefixes: Iterable[str] = (),
        suffixes: Iterable[str] = (),
    ) -> Synonyms:
        words: dict[str, tuple[str, ...]] = {}
        by_pinyin: dict[str, list[str]] = {}
        for key, targets in mapping.items():
            key = normalise(str(key))
            expanded = tuple(dict.fromkeys([key, *(normalise(str(t)) for t in targets)]))
            words[key] = expanded
            for spelling in pinyin_of(key):
                if len(spelling) >= 2:
                    by_pinyin.setdefault(spelling, []).extend(expanded)
        return cls(
            words,
            {k: tuple(dict.fromkeys(v)) for k, v in by_pinyin.items()},
            tuple(sorted({normalise(p) for p in prefixes}, key=len, reverse=True)),
            tuple(sorted({normalise(s) for s in suffixes}, key=len, reverse=True)),
        )

    def strip_fillers(self, term: str) -> str:
        """Drop filler words from both ends while at least two characters remain."""
        changed = True
        while changed:
            changed = False
            for prefix in self.prefixes:
                if term.startswith(prefix) and len(term) - len(prefix) >= 2:
                    term, changed = term[len(prefix) :], True
                    break
            for suffix in self.suffixes:
                if term.endswith(suffix) and len(term) - len(suffix) >= 2:
                    term, changed = term[: -len(suffix)], True
                    break
        return term

    def expand(self, term: str) -> tuple[str, ...]:
        """The term, and the official words of every key it spells or starts (网约 -> 网约车)."""
        found = [term]
        if LATIN_PATTERN.match(term):
            found += self.words.get(term, ())  # a Latin key of its own (etc -> 电子不停车收费)
            found += self.by_pinyin.get(term, ())
        elif len(term) >= 2:
            for key, words in self.words.items():
                if key.startswith(term):
                    found += words
        return tuple(dict.fromkeys(found))


def _read_yaml(path: str | Path) -> Any:
    content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(content, dict):
        raise ValueError(f"{path}: 须为 YAML 映射。")
    return content


@lru_cache(maxsize=4)
def load_synonyms(path: str, query_words_path: str | None = None) -> Synonyms:
    fillers = _read_yaml(query_words_path) if query_words_path else {}
    return Synonyms.from_mapping(
        _read_yaml(path),
        prefixes=fillers.get("prefixes", ()),
        suffixes=fillers.get("suffixes", ()),
    )


def highlight(text: str, words: Iterable[str]) -> Markup:
    """`text` escaped, with every occurrence of the words wrapped in <mark>."""
    folded = normalise(text)
    if len(folded) != len(text):  # normalisation changed lengths: do not guess positions
        folded = text.lower()
    spans: list[tuple[int, int]] = []
    for word in words:
        if not word:
            continue
        start = folded.find(word)
        while start != -1:
            spans.append((start, start + len(word)))
            start = folded.find(word, start + 1)
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, position = [], 0
    for start, end in merged:
        pieces.append(escape(text[position:start]))
        pieces.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        position = end
    pieces.append(escape(text[position:]))
    return Markup("").join(pieces)
