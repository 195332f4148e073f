"""The synonym list as search uses it: read from table search_synonym, kept in memory in each
worker and read again only when the catalog's revision changes (a change of a synonym bumps it,
catalog.revision), so an edit takes effect at once in every worker without a restart, and a
search costs no more than the revision read it already makes."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
import yaml

from catalog.extensions import db
from catalog.models import Synonym
from catalog.revision import is_uncommitted, revision_key
from catalog.search.text import Synonyms, normalise

_lock = threading.Lock()
_kept: dict[str, tuple[str, Synonyms]] = {}  # database URL -> (revision stamp, its synonyms)
_ROWS = sa.select(Synonym.term, Synonym.target).order_by(Synonym.term, Synonym.id)


@lru_cache(maxsize=4)
def filler_words(path: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(prefixes, suffixes) of seed/query_words.yaml: the words people wrap a query in."""
    if not path:
        return (), ()
    content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(content, dict):
        raise ValueError(f"{path}: 须为 YAML 映射。")
    return tuple(content.get("prefixes", ())), tuple(content.get("suffixes", ()))


def stored_mapping() -> dict[str, list[str]]:
    """term -> its official words, as stored."""
    mapping: dict[str, list[str]] = {}
    for term, target in db.session.execute(_ROWS):
        mapping.setdefault(term, []).append(target)
    return mapping


def _build(query_words_path: str | None) -> Synonyms:
    prefixes, suffixes = filler_words(query_words_path)
    return Synonyms.from_mapping(stored_mapping(), prefixes=prefixes, suffixes=suffixes)


def current_synonyms(
    query_words_path: str | None, revision: tuple[str, str] | None = None
) -> Synonyms:
    """The stored synonyms with the filler words, kept per database until its revision
    (a revision_key(), read here unless given) changes; a transaction that changed the
    catalog and has not committed reads its own."""
    url, stamp = revision or revision_key()
    if is_uncommitted(stamp):
        return _build(query_words_path)
    with _lock:
        kept = _kept.get(url)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    synonyms = _build(query_words_path)  # rows read after the stamp: never older than it
    with _lock:
        _kept[url] = (stamp, synonyms)
    return synonyms


def read_seed_synonyms(path: str | Path) -> list[tuple[str, str]]:
    """(term, target) pairs of seed/synonyms.yaml, normalised; a target equal to its term is
    left out (a term always finds itself)."""
    content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(content, dict):
        raise ValueError(f"{path}: 须为 YAML 映射。")
    pairs = []
    for term, targets in content.items():
        key = normalise(str(term)).strip()
        for target in targets if isinstance(targets, list) else [targets]:
            word = normalise(str(target)).strip()
            if word != key:
                pairs.append((key, word))
    return list(dict.fromkeys(pairs))
