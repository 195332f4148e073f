"""Search the published catalog the way people type (see search.query for the rules)."""

from catalog.search import changes as changes  # its listener writes search_change
from catalog.search.index import index_is_complete, index_item, rebuild_index
from catalog.search.lookups import word_rows
from catalog.search.query import DEFAULT_LIMIT, MAX_LIMIT, search
from catalog.search.results import (
    Filters,
    Hit,
    ListedHandling,
    ListedItem,
    SearchResult,
    decode_cursor,
    encode_cursor,
)
from catalog.search.similar import similar_names
from catalog.search.terms import MAX_QUERY_LENGTH, MAX_TERMS, SearchError, Term, parse_query
from catalog.search.text import Synonyms, highlight, load_synonyms, normalise, pinyin_of

__all__ = [
    "DEFAULT_LIMIT", "MAX_LIMIT", "MAX_QUERY_LENGTH", "MAX_TERMS", "Filters", "Hit",
    "ListedHandling", "ListedItem", "SearchError", "SearchResult", "Synonyms", "Term",
    "decode_cursor", "encode_cursor",
    "highlight", "index_is_complete", "index_item", "load_synonyms", "normalise",
    "parse_query", "pinyin_of", "rebuild_index", "search", "similar_names", "word_rows",
]  # fmt: skip
