"""The distinct queries `make bench` judges the search on: drawn from the catalog's own text.

What citizens type is a long tail: most searches were not typed before since the last change,
so the result cache does not serve them. The bench therefore sends each query of a class once.
The queries are pieces of the generated catalog's item names, situations and material names
(CJK substrings of 1, 2, 3 and 4+ characters), the full pinyin of such a piece, its initials
(two letters; three or more), and a piece with one facet filter (type, unit, or one of the
flags). Everything here is pure and deterministic for the seed, so the same data and seed give
the same query set on every run and on both databases (generated from the same seed, they hold
the same catalog).
"""

from __future__ import annotations

import random
import re
import sqlite3
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from pypinyin import Style, lazy_pinyin

# Class names as the results and the README show them.
CLASSES = ("1字", "2字", "3字", "4字+", "拼音", "首字母2", "首字母3+", "筛选")
FLAGS = ("no_visit", "instant", "no_fee", "one_visit")
ITEM_TYPES = ("licence", "punishment", "coercion", "levy", "payment", "inspection",
              "confirmation", "reward", "adjudication", "other")  # fmt: skip
CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
LATIN = re.compile(r"^[a-z]+$")


@dataclass(frozen=True, order=True)
class Query:
    """One search: the words typed and the facet filters (query-string key -> value)."""

    word: str
    filters: tuple[tuple[str, str], ...] = field(default=())

    @property
    def args(self) -> dict[str, str]:
        return dict(self.filters)

    def app_path(self, limit: int = 20) -> str:
        query = {"q": self.word, **self.args, "limit": str(limit)}
        return "/api/v1/items?" + urllib.parse.urlencode(query)

    def datasette_path(self, limit: int = 20) -> str:
        """The same search as Datasette does it: its FTS5 trigram index for 3+ characters and
        for letters (Datasette has no pinyin; the index finds letters only where the text has
        them), else a LIKE filter on the name; the filters as column filters; counts on
        (Datasette's default)."""
        query: dict[str, str] = {"_size": str(limit)}
        if len(self.word) >= 3 or self.word.isascii():
            query["_search"] = self.word
        else:
            query["name__contains"] = self.word
        args = self.args
        if "type" in args:
            query["type__exact"] = args["type"]
        if "unit" in args:
            query["unit__exact"] = args["unit"]
        if "no_visit" in args:
            query["visits__exact"] = "0"
        if "one_visit" in args:
            query["visits__lte"] = "1"
        if "instant" in args:
            query["case_type__exact"] = "instant"
        if "no_fee" in args:
            query["charges_fee__exact"] = "0"
        return "/catalog/handling_items.json?" + urllib.parse.urlencode(query)


def class_of(query: Query) -> str:
    """The class a query belongs to, from the query alone (the test holds generation to it)."""
    if query.filters:
        return "筛选"
    word = query.word
    if LATIN.match(word):
        return "拼音" if _is_full_pinyin(word) else ("首字母2" if len(word) == 2 else "首字母3+")
    length = len(word)
    return {1: "1字", 2: "2字", 3: "3字"}.get(length, "4字+")


_SYLLABLE_VOWELS = set("aeiouv")


def _is_full_pinyin(word: str) -> bool:
    """Full pinyin has vowels; initials of Chinese characters are consonants, except for the
    characters whose reading starts with a vowel (阿 a, 额 e, 欧 o): a run of letters with a
    vowel every few letters is pinyin. Generation keeps only initials with at most one vowel
    and only pinyin of 2+ syllables, which this rule tells apart."""
    vowels = sum(letter in _SYLLABLE_VOWELS for letter in word)
    return vowels >= 2


@dataclass(frozen=True)
class CatalogText:
    """The text queries are drawn from, in a fixed order."""

    texts: tuple[str, ...]  # item names, situations, material names
    units: tuple[str, ...]


def read_catalog_text(sqlite_path: Path, *, materials_every: int = 40) -> CatalogText:
    """The published item names and situations, every `materials_every`-th material name (each
    distinct text once, in id order), and the handling units, from the app's SQLite database."""
    connection = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        names = [row[0] for row in connection.execute(
            "SELECT name FROM approval_item WHERE status = 'published' ORDER BY id")]  # fmt: skip
        situations = [row[0] for row in connection.execute(
            "SELECT situation FROM handling_item WHERE status = 'published' "
            "AND situation IS NOT NULL ORDER BY id")]  # fmt: skip
        materials = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM material WHERE id % ? = 0 ORDER BY id", (materials_every,)
            )
        ]
        units = sorted(row[0] for row in connection.execute(
            "SELECT DISTINCT handling_unit FROM approval_item WHERE status = 'published' "
            "AND handling_unit IS NOT NULL"))  # fmt: skip
    finally:
        connection.close()
    # each distinct text once: a situation such as 新办 recurs on most items and would
    # otherwise be drawn in one pick of two
    return CatalogText(tuple(dict.fromkeys(names + situations + materials)), tuple(units))


def cjk_piece(rng: random.Random, texts: tuple[str, ...], low: int, high: int) -> str | None:
    """A CJK substring of `low` to `high` characters of a random text, or None."""
    runs = [run for run in CJK_RUN.findall(rng.choice(texts)) if len(run) >= low]
    if not runs:
        return None
    run = rng.choice(runs)
    length = rng.randint(low, min(high, len(run)))
    start = rng.randint(0, len(run) - length)
    return run[start : start + length]


def _initials(piece: str) -> str:
    return "".join(lazy_pinyin(piece, style=Style.FIRST_LETTER, errors="ignore")).lower()


def _candidate(name: str, rng: random.Random, text: CatalogText) -> Query | None:
    texts = text.texts
    if name in ("1字", "2字", "3字"):
        size = int(name[0])
        piece = cjk_piece(rng, texts, size, size)
        return Query(piece) if piece else None
    if name == "4字+":
        piece = cjk_piece(rng, texts, 4, 8)
        return Query(piece) if piece else None
    if name == "拼音":
        piece = cjk_piece(rng, texts, 2, 4)
        spelt = "".join(lazy_pinyin(piece, errors="ignore")).lower() if piece else ""
        return Query(spelt) if LATIN.match(spelt) and _is_full_pinyin(spelt) else None
    if name in ("首字母2", "首字母3+"):
        piece = cjk_piece(rng, texts, 2, 2) if name == "首字母2" else cjk_piece(rng, texts, 3, 5)
        initials = _initials(piece) if piece else ""
        fits = len(initials) == len(piece or "") and LATIN.match(initials or "-")
        return Query(initials) if fits and not _is_full_pinyin(initials) else None
    # 筛选: a piece of 2-4 characters and one filter, each kind of filter in turn
    piece = cjk_piece(rng, texts, 2, 4)
    if not piece:
        return None
    kind = rng.randrange(3)
    if kind == 0:
        return Query(piece, (("type", rng.choice(ITEM_TYPES)),))
    if kind == 1 and text.units:
        return Query(piece, (("unit", rng.choice(text.units)),))
    return Query(piece, ((rng.choice(FLAGS), "1"),))


def generate_queries(text: CatalogText, seed: int, per_class: int) -> dict[str, list[Query]]:
    """Up to `per_class` distinct queries of every class (fewer where the catalog has fewer:
    there are only so many distinct characters and two-letter initials), in the order drawn.
    A query is in one class only: no query appears twice in the whole set."""
    seen: set[Query] = set()
    queries: dict[str, list[Query]] = {}
    for position, name in enumerate(CLASSES):
        rng = random.Random(f"{seed}:{position}:{name}")
        drawn: list[Query] = []
        attempts = per_class * 60  # bounded: a class with fewer distinct queries stops here
        for _attempt in range(attempts):
            if len(drawn) >= per_class:
                break
            query = _candidate(name, rng, text)
            if query is None or query in seen or class_of(query) != name:
                continue
            seen.add(query)
            drawn.append(query)
        queries[name] = drawn
    return queries


def split(queries: list[Query], *shares: int) -> list[list[Query]]:
    """Consecutive parts of `queries` of the given sizes (the last part may be shorter)."""
    parts, start = [], 0
    for share in shares:
        parts.append(queries[start : start + share])
        start += share
    return parts


# The fixed mix of the cached (secondary) rows: a few terms per class, repeated until the
# per-revision result cache serves them, as a popular search is served.
CACHED_MIX: dict[str, list[Query]] = {
    "1字": [Query(w) for w in ("港", "车", "水", "药", "林")],
    "2字": [Query(w) for w in ("道路", "许可", "运输", "食品", "船舶")],
    "3字": [Query(w) for w in ("出租车", "驾驶员", "危险货")],
    "4字+": [Query(w) for w in ("道路运输经营", "网络预约出租", "建设项目")],
    "拼音": [Query(w) for w in ("daolu", "chuzuche", "yunshu", "shipin")],
    "首字母2": [Query(w) for w in ("dl", "ys", "cz")],
    "首字母3+": [Query(w) for w in ("dlys", "czc", "spjy")],
    "筛选": [Query("许可", (("type", "licence"), ("no_visit", "1"))),
           Query("运输", (("instant", "1"),)), Query("登记", (("type", "confirmation"),))],
}  # fmt: skip
