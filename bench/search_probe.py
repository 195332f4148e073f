"""Distinct searches in-process, by class: what a search not seen before costs (issue 22).

Draws a few hundred DISTINCT queries a class from the catalog itself (pieces of item names and
material names of 1, 2, 3 and 4+ characters, pinyin pieces, initials of 2 and of 3+ letters,
words with a filter), sends each once to catalog.search.search() in-process with the result
cache off (SEARCH_RESULT_CACHE=0), and prints p50/p95/p99 a class. With --after-change it
also edits one item, commits, and times the first search after it (the frame's update).

    PYTHONPATH=. .venv/bin/python bench/search_probe.py --database-url sqlite:////tmp/x.sqlite3
    PYTHONPATH=. .venv/bin/python bench/search_probe.py --database-url postgresql://... --json out

The draw is deterministic for --seed; the same queries serve both databases when they hold
the same catalog (the shared 300,000-item data of the bench).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ("1 char", "2 chars", "3 chars", "4+ chars", "pinyin", "initials 2", "initials 3+",
           "with filters")  # fmt: skip


def _pieces(texts: list[str], length: int, rng: random.Random, count: int) -> list[str]:
    """Distinct substrings of `length` CJK characters (a run of letters/digits is skipped)."""
    found: set[str] = set()
    for _attempt in range(count * 50):
        text = rng.choice(texts)
        if len(text) < length:
            continue
        start = rng.randrange(len(text) - length + 1)
        piece = text[start : start + length]
        if all("\u4e00" <= ch <= "\u9fff" for ch in piece):
            found.add(piece)
        if len(found) >= count:
            break
    return sorted(found)


def draw_queries(count: int, seed: int) -> dict[str, list[str]]:
    """{class: [query or "query&filter=..."]}, distinct within and across classes."""
    import sqlalchemy as sa

    from catalog.enums import Status
    from catalog.extensions import db
    from catalog.models import ApprovalItem, Material
    from catalog.search.text import pinyin_of

    rng = random.Random(seed)
    names = sorted(set(db.session.scalars(
        sa.select(ApprovalItem.name).where(ApprovalItem.status == Status.published).distinct()
    )))  # fmt: skip
    materials = sorted(set(db.session.scalars(sa.select(Material.name).distinct().limit(20000))))
    units = db.session.scalars(sa.select(ApprovalItem.handling_unit).distinct())
    units = sorted(set(units) - {None})
    texts = names + materials
    queries = {
        "1 char": _pieces(texts, 1, rng, count),
        "2 chars": _pieces(texts, 2, rng, count),
        "3 chars": _pieces(texts, 3, rng, count),
        "4+ chars": sorted({*_pieces(texts, 4, rng, count // 2), *_pieces(texts, 5, rng, count)}),
    }
    spelt = [pinyin_of(piece) for piece in _pieces(names, 2, rng, count * 2)]
    queries["pinyin"] = sorted({full for full, _initials in spelt if len(full) >= 4})[:count]
    initials = [pinyin_of(name)[1] for name in names]
    queries["initials 2"] = sorted({i[:2] for i in initials if len(i) >= 2})
    three = set()
    for text in initials:
        if len(text) >= 3:
            start = rng.randrange(len(text) - 2)
            three.add(text[start : start + rng.choice((3, 3, 4))])
    queries["initials 3+"] = sorted(three - set(queries["initials 2"]))
    words = _pieces(texts, 2, rng, count) + _pieces(texts, 3, rng, count)
    filters = ["type=licence", "no_visit=1", "one_visit=1", "no_fee=1", "instant=1"]
    with_filters = set()
    for word in words:
        choice = rng.choice([*filters, "unit"])
        value = f"unit={rng.choice(units)}" if choice == "unit" else choice
        with_filters.add(f"{word}&{value}")
    queries["with filters"] = sorted(with_filters)
    seen: set[str] = set()
    for name in CLASSES:  # distinct across classes too, then a sample of `count`
        unique = [query for query in queries[name] if query not in seen]
        seen.update(unique)
        rng.shuffle(unique)
        queries[name] = unique[:count]
    return queries


def summarise(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pick(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)

    return {"n": len(ordered), "p50": round(statistics.median(ordered), 2), "p95": pick(0.95),
            "p99": pick(0.99), "max": round(ordered[-1], 2)}  # fmt: skip


def time_search(word: str, filters: str) -> float:
    import urllib.parse

    from catalog.extensions import db
    from catalog.search import Filters, search

    args = dict(urllib.parse.parse_qsl(filters))
    started = time.perf_counter()
    search(word, Filters.from_args(args), synonyms=lambda _revision: _NO_SYNONYMS)
    took = (time.perf_counter() - started) * 1000
    db.session.remove()
    return took


def _edit_one_item() -> float:
    """Change one published item's situation and commit; the next search's time in ms."""
    import sqlalchemy as sa

    from catalog.enums import Status
    from catalog.extensions import db
    from catalog.models import ApprovalItem
    from catalog.search import index_item

    item = db.session.scalars(
        sa.select(ApprovalItem).where(ApprovalItem.status == Status.published).limit(1)
    ).one()
    item.handling_items[0].situation = f"探测{time.time_ns() % 100000}"  # as a service would
    index_item(item)
    db.session.commit()
    db.session.remove()
    return time_search("运输", "")


_NO_SYNONYMS = None


def main() -> int:
    global _NO_SYNONYMS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--count", type=int, default=200, help="queries a class")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--classes", default=",".join(CLASSES))
    parser.add_argument("--after-change", type=int, default=0, help="edits to time")
    parser.add_argument("--json", help="write the results here")
    options = parser.parse_args()
    os.environ["DATABASE_URL"] = options.database_url
    sys.path.insert(0, str(ROOT))
    from catalog import create_app
    from catalog.search.frame import frames
    from catalog.search.text import Synonyms

    _NO_SYNONYMS = Synonyms({}, {})
    app = create_app({"SQLALCHEMY_DATABASE_URI": options.database_url, "SEARCH_RESULT_CACHE": 0,
                      "SECRET_KEY": "probe"})  # fmt: skip
    results: dict[str, object] = {"database": options.database_url.split(":")[0]}
    with app.app_context():
        queries = draw_queries(options.count, options.seed)
        frames.clear()
        results["first search (frame load), ms"] = round(time_search("", ""), 1)
        for name in options.classes.split(","):
            latencies = []
            for query in queries[name]:
                word, _sep, filters = query.partition("&")
                latencies.append(time_search(word, filters))
            results[name] = summarise(latencies)
            print(f"{name:14} {results[name]}", flush=True)
        if options.after_change:
            after = [_edit_one_item() for _ in range(options.after_change)]
            results["first search after a change"] = summarise(after)
            print(f"after change   {results['first search after a change']}")
    print(json.dumps(results, ensure_ascii=False))
    if options.json:
        Path(options.json).write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
